"""``hostPeers``: tenant references to admin-approved host peers (SPEC §9).

vCluster keeps every tenant selector inside the virtual cluster, so a tenant cannot admit the
host's ingress controller or monitoring. An admin names such peers in the syncer's config; a
tenant references one with a peer whose ``namespaceSelector`` is exactly
``matchLabels: {netpol-syncer.io/host-peer: NAME}`` (no podSelector, no other label), and the
host copy gets exactly the admin's selectors in place of the scoped translation.

This runs on the virtual policy and its default translation together: SPEC §3 keeps rule and
peer positions, so the virtual peer at ``ingress[i].from[j]`` is the host peer at the same place.
With no host peers configured nothing happens: the label is then an ordinary namespace label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from guardrails.config import HOST_PEER_LABEL, HostPeer
from guardrails.envelope import Narrowed
from translate.types import NetworkPolicy


class HostPeerRefused(ValueError):
    """A tenant peer references a host peer that does not exist or is malformed.

    Permanent for this version of the virtual object: the controller keeps the last good host
    copy and emits a Warning event with ``str(error)``, which names the peer.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def reference(peer: Mapping[str, Any]) -> str | None:
    """The host-peer name a virtual peer references, or ``None`` for an ordinary peer."""
    namespace_selector = peer.get("namespaceSelector")
    if not isinstance(namespace_selector, Mapping):
        return None
    labels = namespace_selector.get("matchLabels") or {}
    name = labels.get(HOST_PEER_LABEL)
    return name if isinstance(name, str) else None


def resolve(virtual: NetworkPolicy, host: NetworkPolicy, peers: Mapping[str, HostPeer]) -> Narrowed:
    """``host`` with every host-peer reference of ``virtual`` replaced by the admin's selectors.

    Raises :class:`HostPeerRefused` for an unknown name or a reference that also carries a pod
    selector, another label or an expression (the admin's selectors are used exactly, so extra
    tenant conditions would be silently ignored). ``host`` is not modified.
    """
    if not peers:
        return Narrowed(host)
    virtual_spec = virtual.get("spec") or {}
    spec = dict(host.get("spec") or {})
    notes: list[str] = []
    for direction, field in (("ingress", "from"), ("egress", "to")):
        virtual_rules = cast(list[dict[str, Any]], virtual_spec.get(direction) or [])
        host_rules = cast(list[dict[str, Any]], spec.get(direction) or [])
        new_rules = []
        for i, (v_rule, h_rule) in enumerate(zip(virtual_rules, host_rules, strict=True)):
            v_peers = v_rule.get(field) or []
            h_peers = list(h_rule.get(field) or [])
            for j, v_peer in enumerate(v_peers):
                name = reference(v_peer)
                if name is None:
                    continue
                path = f"spec.{direction}[{i}].{field}[{j}]"
                h_peers[j] = _approved(v_peer, name, path, peers).as_peer()
                notes.append(f"{direction}[{i}].{field}[{j}]: host peer {name!r}")
            new_rules.append({**h_rule, field: h_peers} if h_peers else h_rule)
        if new_rules:
            spec[direction] = new_rules
    if not notes:
        return Narrowed(host)
    return Narrowed(cast(NetworkPolicy, {**host, "spec": spec}), tuple(notes))


def _approved(
    v_peer: Mapping[str, Any], name: str, path: str, peers: Mapping[str, HostPeer]
) -> HostPeer:
    namespace_selector = v_peer["namespaceSelector"]
    extra = [
        what
        for what, present in (
            ("a podSelector", v_peer.get("podSelector") is not None),
            ("other namespace labels", len(namespace_selector.get("matchLabels") or {}) > 1),
            ("matchExpressions", bool(namespace_selector.get("matchExpressions"))),
        )
        if present
    ]
    if extra:
        raise HostPeerRefused(
            path,
            f"host peer reference {name!r} must use only the {HOST_PEER_LABEL} label "
            f"(found {', '.join(extra)})",
        )
    if name not in peers:
        known = ", ".join(sorted(peers)) or "none"
        raise HostPeerRefused(path, f"unknown host peer {name!r} (approved: {known})")
    return peers[name]
