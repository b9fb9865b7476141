"""The host-copy stage: every rule that shapes, narrows or refuses a host object, in one place.

Order: translate (SPEC §3); the guardrails that add selectors (approved host peers, then the DNS
endpoint), so the patch checks compare against a copy that already carries them; the configured
patches (SPEC §4), checked for scope and widening; the blocked-CIDR envelope last, so no patch can
re-open a blocked range; then the scoping invariants on the final copy. It runs on every object,
with or without patches and guardrails, and is the only place a refusal is decided: the
controller (``syncer.pipeline.guarding``) and the offline ``translate`` command both call
:func:`host_copy`, so what ``translate`` prints is what ``run`` writes or refuses.

Pure: no I/O; facts about the running vCluster arrive in a :class:`Context`.
"""

from __future__ import annotations

from typing import Final

import patches
import translate
from guardrails.applying import Context, before_patches, enclose, sanctioned_peers
from guardrails.config import Guardrails
from guardrails.envelope import Narrowed
from guardrails.host_peers import HostPeerRefused
from guardrails.refusals import Kind, Refusal
from translate import NetworkPolicy

NONE: Final = Guardrails()
"""No guardrails: the plain SPEC §3 + §4 path."""

_PATCH_KINDS: Final[dict[patches.Reason, Kind]] = {
    "patch_failed": "PatchFailed",
    "patch_out_of_scope": "PatchOutOfScope",
    "patch_widens": "PatchWidens",
}


def host_copy(
    virtual: NetworkPolicy,
    *,
    target: translate.Target,
    patch_list: patches.PatchList,
    rails: Guardrails = NONE,
    context: Context | None = None,
) -> Narrowed | Refusal:
    """The host copy of ``virtual`` and what the guardrails changed, or why there is none.

    ``virtual`` is never modified. The result's ``notes`` are empty without guardrails.
    """
    host = translate.to_host(virtual, target)
    if rails.enabled:
        context = context or Context()
        try:
            first = before_patches(virtual, host, rails, context)
        except HostPeerRefused as exc:
            key = translate.key_of(virtual)
            return Refusal("HostPeerRefused", f"NetworkPolicy {key}: {exc}; not synced")
        sanctioned = sanctioned_peers(rails, context)
    else:
        # Every step below would change nothing: skipped, since this runs on every object.
        first, sanctioned = Narrowed(host), []
    try:
        patched = patch_list.apply(
            first.policy, vcluster=target.vcluster, sanctioned_peers=sanctioned
        )
    except patches.PatchRefused as exc:
        return Refusal(_PATCH_KINDS[exc.reason], str(exc))
    last = enclose(patched, rails) if rails.enabled else Narrowed(patched)
    if not patch_list or last.notes:
        # Patches were checked against ``first`` already; what they did not check is the
        # unpatched translation itself and what the envelope changed after them.
        found = translate.violations(
            last.policy, first.policy, target.vcluster, sanctioned_peers=sanctioned
        )
        if found:
            blame = "the guardrails produce" if first.notes or last.notes else "its translation is"
            return Refusal(
                "OutOfScope",
                f"NetworkPolicy {translate.key_of(virtual)}: {blame} out of scope for this "
                f"vCluster: {_summary(found)}; not synced",
            )
    return Narrowed(last.policy, first.notes + last.notes)


def _summary(found: list[str]) -> str:
    """The first few violations (a malformed policy can have hundreds)."""
    return "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if found[5:] else "")
