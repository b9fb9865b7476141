"""The guardrails, in order, on one translated host copy; and what the scoping check accepts.

Order matters: host peers replace tenant references first (they are selectors, so the CIDR
rewrite leaves them alone), DNS adds its endpoint next (also a selector), and the blocked-CIDR
rewrite runs last over everything, so no later step can re-open a blocked address. Patches
(SPEC §4) run after all of this, and the scoping check compares against this result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from guardrails import dns, envelope, host_peers
from guardrails.config import Guardrails
from guardrails.envelope import ALL_PODS_PEER, Narrowed
from translate.types import NetworkPolicy, NetworkPolicyPeer


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about the running vCluster that some guardrails need (read by the controller)."""

    dns: dns.DnsFacts | None = None
    """``None`` while the kube-dns Service is unknown: ``dns: auto`` then adds nothing."""


def apply(
    virtual: NetworkPolicy,
    host: NetworkPolicy,
    guardrails: Guardrails,
    context: Context | None = None,
) -> Narrowed:
    """``host`` (``translate.to_host(virtual, target)``) with every configured guardrail.

    Pure; neither input is modified. When nothing changed the result is ``host`` itself;
    otherwise it shares no mutable structure with either input, so callers may patch it in
    place. ``notes`` says what changed, for a Normal event on the virtual object and for
    ``netpol-syncer translate``. Raises
    :class:`host_peers.HostPeerRefused` when a tenant references an unknown host peer.
    Equal to :func:`before_patches` followed by :func:`enclose`.
    """
    first = before_patches(virtual, host, guardrails, context)
    last = enclose(first.policy, guardrails)
    notes = first.notes + last.notes
    if not notes:
        return Narrowed(host)
    policy = last.policy if last.notes else first.policy
    return Narrowed(policy, notes)


def before_patches(
    virtual: NetworkPolicy,
    host: NetworkPolicy,
    guardrails: Guardrails,
    context: Context | None = None,
) -> Narrowed:
    """Host peers, then the DNS endpoint: the steps that add selectors, run before patches so
    the patch checks compare against a copy that already carries them."""
    context = context or Context()
    notes: list[str] = []
    result = host_peers.resolve(virtual, host, guardrails.host_peers)
    notes += result.notes
    if guardrails.dns == "auto" and context.dns is not None:
        result = dns.allow_dns(virtual, result.policy, context.dns)
        notes += result.notes
    if not notes:
        return Narrowed(host)
    return Narrowed(copy.deepcopy(result.policy), tuple(notes))


def enclose(host: NetworkPolicy, guardrails: Guardrails) -> Narrowed:
    """The blocked-CIDR rewrite, the last step (after patches), so nothing re-opens a blocked
    address. Unchanged: ``host`` itself; changed: a copy sharing nothing with ``host``."""
    result = envelope.narrow(host, guardrails.blocked_cidrs)
    if not result.notes:
        return Narrowed(host)
    return Narrowed(copy.deepcopy(result.policy), result.notes)


def sanctioned_peers(
    guardrails: Guardrails, context: Context | None = None
) -> list[NetworkPolicyPeer]:
    """Host peers the scoping check must accept verbatim, given what is configured.

    Exactly: the all-pods peer when ``blockedCIDRs`` is set, each approved host peer, and the
    DNS endpoint under ``dns: auto`` (it carries the reserved ``release`` key when CoreDNS is
    embedded). Empty with guardrails off, so SPEC §3's "no namespaceSelector" holds then.
    """
    context = context or Context()
    out: list[NetworkPolicyPeer] = []
    if guardrails.blocked_cidrs:
        out.append(ALL_PODS_PEER)
    out.extend(peer.as_peer() for peer in guardrails.host_peers.values())  # type: ignore[misc]
    if guardrails.dns == "auto" and context.dns is not None:
        out.append(context.dns.host_peer)
    return out
