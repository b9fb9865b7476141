"""Wiring of the host-copy stage (:func:`guardrails.host_copy`) into the controller.

The stage decides everything about a host copy (translation, guardrails, patches, the scoping
check) and returns a refusal as a value; here a refusal becomes the error the worker loop gives
up on, reported as the table :data:`syncer.runtime.errors.REFUSALS` says. It runs on every
object, patches or guardrails configured or not.

:class:`Guard` is the controller's desire function with state: the DNS facts the kube-dns
watch (:mod:`syncer.pipeline.dnswatch`) keeps current, and the notes of each key's last
translation, which the controller turns into one Normal event per change.
"""

from __future__ import annotations

import guardrails
import patches
import translate
from syncer.pipeline import reconciling
from syncer.runtime import errors
from translate import NetworkPolicy, ObjectKey

NARROWED = "PolicyNarrowed"
"""Reason of the Normal event telling the tenant what the guardrails changed."""


class Guard:
    """Desire through the host-copy stage; one instance per process."""

    def __init__(
        self,
        *,
        target: translate.Target,
        patch_list: patches.PatchList,
        rails: guardrails.Guardrails | None = None,
        dns_embedded: bool = False,
    ) -> None:
        self.target = target
        self.patch_list = patch_list
        self.rails = rails or guardrails.Guardrails()
        """The ``guardrails`` block; the default changes nothing."""
        self.dns_embedded = dns_embedded
        """CoreDNS runs inside the control-plane pod (vcluster.yaml
        ``controlPlane.coredns.embedded``): the DNS endpoint is that pod."""
        self.context = guardrails.Context()
        """Replaced (never mutated) when the kube-dns Service changes."""
        self.notes: dict[ObjectKey, tuple[str, ...]] = {}
        """Virtual key -> notes of its last successful translation (absent: none)."""

    def desire(self, virtual: NetworkPolicy) -> NetworkPolicy:
        """The host copy to write; raises the reported error of a refusal."""
        result = guardrails.host_copy(
            virtual,
            target=self.target,
            patch_list=self.patch_list,
            rails=self.rails,
            context=self.context,
        )
        if isinstance(result, guardrails.Refusal):
            raise errors.refused(result)
        if result.notes:
            self.notes[translate.key_of(virtual)] = result.notes
        elif self.notes:
            self.notes.pop(translate.key_of(virtual), None)
        return result.policy

    def dns_facts(self, service: dict[str, object] | None) -> guardrails.DnsFacts | None:
        """DNS facts from the virtual kube-dns Service (None while it does not exist)."""
        if service is None:
            return None
        return guardrails.facts_from_service(
            service, self.target.vcluster, embedded=self.dns_embedded
        )


def desire_for(target: translate.Target, patch_list: patches.PatchList) -> reconciling.Desire:
    """The stage without guardrails: translate, patches, scoping check."""
    return Guard(target=target, patch_list=patch_list).desire
