"""The host copy with guardrails (SPEC §9), for ``run`` and the offline ``translate`` alike.

Order: translate; host peers and the DNS endpoint (selectors the tenant may not write itself);
the configured patches, whose checks compare against that copy and accept exactly the
sanctioned peers; the blocked-CIDR envelope last, so no patch can re-open a blocked range; a
final scoping check. Without a ``guardrails`` block none of this runs: the controller uses the
plain translate-then-patch path (:func:`syncer.commands.running.desire_for`) and nothing changes.

:class:`Guard` is the controller's desire function with state: the DNS facts the kube-dns
watch (:mod:`syncer.pipeline.dnswatch`) keeps current, and the notes of each key's last translation,
which the controller turns into one Normal event per change.
"""

from __future__ import annotations

import guardrails
import patches
import translate
from syncer.runtime import errors
from translate import NetworkPolicy, ObjectKey

NARROWED = "PolicyNarrowed"
"""Reason of the Normal event telling the tenant what the guardrails changed."""


class GuardrailsBroken(ValueError):
    """The guarded copy fails the scoping check: a bug, never written."""


def guarded(
    virtual: NetworkPolicy,
    *,
    target: translate.Target,
    patch_list: patches.PatchList,
    rails: guardrails.Guardrails,
    context: guardrails.Context,
) -> guardrails.Narrowed:
    """The host copy of ``virtual`` and what the guardrails changed.

    Raises :class:`patches.PatchRefused`, :class:`guardrails.HostPeerRefused` or
    :class:`GuardrailsBroken`.
    """
    host = translate.to_host(virtual, target)
    first = guardrails.before_patches(virtual, host, rails, context)
    sanctioned = guardrails.sanctioned_peers(rails, context)
    patched = patch_list.apply(first.policy, vcluster=target.vcluster, sanctioned_peers=sanctioned)
    last = guardrails.enclose(patched, rails)
    notes = first.notes + last.notes
    if notes:
        found = translate.violations(
            last.policy, first.policy, target.vcluster, sanctioned_peers=sanctioned
        )
        if found:
            raise GuardrailsBroken("guardrails produced an out-of-scope copy: " + "; ".join(found))
    return guardrails.Narrowed(last.policy, notes)


class Guard:
    """Desire with guardrails for the controller; one instance per process."""

    def __init__(
        self,
        *,
        target: translate.Target,
        patch_list: patches.PatchList,
        rails: guardrails.Guardrails,
        dns_embedded: bool = False,
    ) -> None:
        self.target = target
        self.patch_list = patch_list
        self.rails = rails
        self.dns_embedded = dns_embedded
        """CoreDNS runs inside the control-plane pod (vcluster.yaml
        ``controlPlane.coredns.embedded``): the DNS endpoint is that pod."""
        self.context = guardrails.Context()
        """Replaced (never mutated) when the kube-dns Service changes."""
        self.notes: dict[ObjectKey, tuple[str, ...]] = {}
        """Virtual key -> notes of its last successful translation (absent: none)."""

    def desire(self, virtual: NetworkPolicy) -> NetworkPolicy:
        meta = virtual.get("metadata") or {}
        key = ObjectKey(meta.get("namespace", ""), meta.get("name", ""))
        try:
            result = guarded(
                virtual,
                target=self.target,
                patch_list=self.patch_list,
                rails=self.rails,
                context=self.context,
            )
        except patches.PatchRefused as exc:
            raise errors.PatchFailed(str(exc)) from exc
        except guardrails.HostPeerRefused as exc:
            raise errors.HostPeerRefused(f"NetworkPolicy {key}: {exc}; not synced") from exc
        except GuardrailsBroken as exc:
            raise errors.HostRejected(f"NetworkPolicy {key}: {exc}") from exc
        if result.notes:
            self.notes[key] = result.notes
        else:
            self.notes.pop(key, None)
        return result.policy

    def dns_facts(self, service: dict[str, object] | None) -> guardrails.DnsFacts | None:
        """DNS facts from the virtual kube-dns Service (None while it does not exist)."""
        if service is None:
            return None
        return guardrails.facts_from_service(
            service, self.target.vcluster, embedded=self.dns_embedded
        )
