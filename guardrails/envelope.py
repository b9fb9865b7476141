"""``blockedCIDRs``: rewrite a host copy so that it allows no blocked address (SPEC §9).

NetworkPolicies only add permissions, so the platform cannot close an address with a policy of
its own while a tenant copy opens it. Instead every host copy is narrowed:

- an ``ipBlock`` inside (or equal to) a blocked range is dropped;
- a blocked range strictly inside an ``ipBlock`` is added to its ``except`` (an ``except``
  entry the blocked range covers is folded into it). Two CIDRs are either disjoint or nested,
  so these cases are exhaustive and no block ever needs splitting;
- a rule with no peers ("any peer") becomes three peers: every pod of the cluster
  (``namespaceSelector: {}``, so the vCluster's pods, its control-plane pod and other pods keep
  working whatever the CNI does with ipBlocks that cover pod IPs), ``0.0.0.0/0`` and ``::/0``,
  each minus the blocked ranges of its family (a family blocked whole is left out);
- a rule whose peers all fell inside blocked ranges is dropped, never left without peers (that
  would mean "everyone"); when that empties a direction, ``policyTypes`` is written out so the
  pods stay isolated in it.

Each change yields a human-readable note for the tenant's Normal event and ``translate`` output.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from guardrails.config import Network, parse_network
from translate.types import IPBlock, NetworkPolicy, NetworkPolicyPeer

ALL_PODS_PEER: NetworkPolicyPeer = {"namespaceSelector": {}}
"""The second sanctioned host namespaceSelector: every pod in every namespace."""

_WHOLE = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
_DIRECTIONS = (("ingress", "from"), ("egress", "to"))


@dataclass(frozen=True, slots=True)
class Narrowed:
    """A host copy after a guardrail, and what changed (empty when nothing did)."""

    policy: NetworkPolicy
    notes: tuple[str, ...] = ()


def narrow_block(block: IPBlock, blocked: Sequence[Network]) -> IPBlock | None:
    """``block`` minus the ``blocked`` ranges: ``None`` when nothing is left.

    Returns ``block`` itself (not a copy) when no blocked range touches it, so callers can tell
    "unchanged" by identity. An unparseable cidr is returned as is: the API server rejects it.
    """
    cidr = parse_network(block.get("cidr"))
    if cidr is None:
        return block
    family = [x for x in blocked if x.version == cidr.version]
    if any(cidr.subnet_of(x) for x in family):  # type: ignore[arg-type]
        return None
    inside = [x for x in family if x.subnet_of(cidr)]  # type: ignore[arg-type]
    if not inside:
        return block
    excepts = [(text, parse_network(text)) for text in block.get("except") or []]
    added = [
        x
        for x in inside
        if not any(
            network is not None and x.subnet_of(network)  # type: ignore[arg-type]
            for _, network in excepts
        )
    ]
    if not added:
        return block
    kept = [
        text
        for text, network in excepts
        if network is None or not any(network.subnet_of(x) for x in added)  # type: ignore[arg-type]
    ]
    out: IPBlock = {"cidr": block["cidr"], "except": [*kept, *map(str, added)]}
    return out


def any_peer(blocked: Sequence[Network]) -> list[NetworkPolicyPeer]:
    """What a peerless rule becomes: all pods, plus the public address space minus ``blocked``."""
    peers: list[NetworkPolicyPeer] = [{"namespaceSelector": {}}]
    for whole in _WHOLE:
        block = narrow_block({"cidr": str(whole)}, blocked)
        if block is not None:
            peers.append({"ipBlock": block})
    return peers


def narrow(host: NetworkPolicy, blocked: Sequence[Network]) -> Narrowed:
    """``host`` allowing no address in ``blocked``; ``host`` itself is not modified.

    ``host`` is a translated copy (SPEC §3), so its peers are ipBlocks and pod selectors only;
    any other peer (an approved host peer, a DNS endpoint) is kept as it is.
    """
    if not blocked:
        return Narrowed(host)
    spec = dict(host.get("spec") or {})
    notes: list[str] = []
    dropped_a_rule = False
    for direction, field in _DIRECTIONS:
        rules = spec.get(direction)
        if not rules:
            continue
        kept_rules = []
        for i, rule in enumerate(cast(list[dict[str, Any]], rules)):
            where = f"{direction}[{i}]"
            narrowed = _narrow_rule(rule, field, blocked, where, notes)
            if narrowed is None:
                dropped_a_rule = True
            else:
                kept_rules.append(narrowed)
        if kept_rules:
            spec[direction] = kept_rules
        else:
            del spec[direction]
    if dropped_a_rule and not spec.get("policyTypes"):
        spec["policyTypes"] = list(_defaulted_types(host))
    if not notes:
        return Narrowed(host)
    return Narrowed(cast(NetworkPolicy, {**host, "spec": spec}), tuple(notes))


def _narrow_rule(
    rule: dict[str, Any], field: str, blocked: Sequence[Network], where: str, notes: list[str]
) -> dict[str, Any] | None:
    peers = rule.get(field)
    if not peers:
        replacement = any_peer(blocked)
        notes.append(
            f"{where}: any {'source' if field == 'from' else 'destination'} narrowed to all pods"
            f" and {_describe(replacement[1:])}"
        )
        return {**rule, field: replacement}
    out_peers: list[Any] = []
    for j, peer in enumerate(peers):
        block = peer.get("ipBlock") if isinstance(peer, dict) else None
        if block is None:
            out_peers.append(peer)
            continue
        narrowed = narrow_block(block, blocked)
        if narrowed is None:
            notes.append(f"{where}.{field}[{j}]: ipBlock {block.get('cidr')} is blocked; removed")
        elif narrowed is block:
            out_peers.append(peer)
        else:
            new = [e for e in narrowed.get("except", []) if e not in (block.get("except") or [])]
            notes.append(
                f"{where}.{field}[{j}]: ipBlock {block.get('cidr')} now excepts {', '.join(new)}"
                if new
                else f"{where}.{field}[{j}]: ipBlock {block.get('cidr')} excepts merged"
            )
            out_peers.append({"ipBlock": narrowed})
    if not out_peers:
        notes.append(f"{where}: every peer is blocked; rule removed")
        return None
    return {**rule, field: out_peers}


def _describe(blocks: Sequence[NetworkPolicyPeer]) -> str:
    parts = []
    for peer in blocks:
        block = peer["ipBlock"]
        excepts = block.get("except")
        parts.append(f"{block['cidr']} except {', '.join(excepts)}" if excepts else block["cidr"])
    return "; ".join(parts) if parts else "no address"


def _defaulted_types(host: NetworkPolicy) -> Iterator[str]:
    """The API server's policyTypes default: Ingress, plus Egress when there are egress rules."""
    yield "Ingress"
    if (host.get("spec") or {}).get("egress"):
        yield "Egress"
