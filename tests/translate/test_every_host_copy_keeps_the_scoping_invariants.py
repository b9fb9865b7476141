"""Properties of to_host over 2,000 generated, upstream-valid policies per run (SPEC §3).

Each example is checked for every invariant at once (generation dominates the cost), and each
invariant is its own helper with a message naming it, so a failure says which one broke.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import translate
from tests.support import netpol_validation, strategies

MANAGED_BY = "vcluster.loft.sh/managed-by"
NAMESPACE = "vcluster.loft.sh/namespace"
RESERVED = {"release", NAMESPACE, MANAGED_BY, "vcluster.loft.sh/controlled-by"}
PEERS_FIELD = {"ingress": "from", "egress": "to"}


def _peer_pairs(virtual: dict[str, Any], host: dict[str, Any]) -> Iterator[tuple[Any, Any, str]]:
    """(virtual peer, host peer, where) for every peer, checking rule and peer counts match."""
    for direction, field in PEERS_FIELD.items():
        virtual_rules = virtual["spec"].get(direction) or []
        host_rules = host["spec"].get(direction, [])
        assert len(host_rules) == len(virtual_rules), f"{direction}: rule count changed"
        for i, (v_rule, h_rule) in enumerate(zip(virtual_rules, host_rules, strict=True)):
            v_peers, h_peers = v_rule.get(field) or [], h_rule.get(field) or []
            assert len(h_peers) == len(v_peers), f"{direction}[{i}]: peer count changed"
            for j, pair in enumerate(zip(v_peers, h_peers, strict=True)):
                yield (*pair, f"{direction}[{i}].{field}[{j}]")


def check_scoped(virtual: dict[str, Any], host: dict[str, Any], vc: str) -> None:
    """spec.podSelector and every non-ipBlock peer carry managed-by=VC (and the right namespace)."""
    namespace = virtual["metadata"]["namespace"]
    labels = host["spec"]["podSelector"]["matchLabels"]
    assert labels[MANAGED_BY] == vc, "podSelector lost managed-by"
    assert labels[NAMESPACE] == namespace, "podSelector lost its virtual namespace"
    for v_peer, h_peer, where in _peer_pairs(virtual, host):
        if "ipBlock" in v_peer:
            assert h_peer == {"ipBlock": v_peer["ipBlock"]}, f"{where}: ipBlock not copied alone"
            continue
        assert set(h_peer) == {"podSelector"}, f"{where}: host peer must be a podSelector only"
        peer_labels = h_peer["podSelector"]["matchLabels"]
        assert peer_labels[MANAGED_BY] == vc, f"{where}: peer lost managed-by"
        if "namespaceSelector" in v_peer:
            assert NAMESPACE not in peer_labels, f"{where}: namespaceSelector peer pinned to ns"
        else:
            assert peer_labels[NAMESPACE] == namespace, f"{where}: peer left its namespace"


def _host_selectors(host: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    yield host["spec"]["podSelector"], "podSelector"
    for direction, field in PEERS_FIELD.items():
        for i, rule in enumerate(host["spec"].get(direction, [])):
            for j, peer in enumerate(rule.get(field) or []):
                if "podSelector" in peer:
                    yield peer["podSelector"], f"{direction}[{i}].{field}[{j}]"


def check_no_reserved_keys(virtual: dict[str, Any], host: dict[str, Any], vc: str) -> None:
    """No reserved key reaches a host selector except the two scoping keys with right values."""
    namespace = virtual["metadata"]["namespace"]
    allowed_values = {MANAGED_BY: {vc}, NAMESPACE: {namespace}}
    for selector, where in _host_selectors(host):
        for key, value in selector.get("matchLabels", {}).items():
            if key in RESERVED:
                assert value in allowed_values.get(key, set()), f"{where}: reserved {key}={value}"
        for expression in selector.get("matchExpressions", []):
            assert expression["key"] not in RESERVED, f"{where}: reserved key in an expression"


def check_verbatim_parts(virtual: dict[str, Any], host: dict[str, Any]) -> None:
    """Ports and policyTypes are copied; empty rule lists are omitted."""
    for direction in PEERS_FIELD:
        if not virtual["spec"].get(direction):
            assert direction not in host["spec"], f"empty {direction} not omitted"
            continue
        for v_rule, h_rule in zip(virtual["spec"][direction], host["spec"][direction], strict=True):
            assert h_rule.get("ports") == v_rule.get("ports"), f"{direction} ports changed"
    assert host["spec"].get("policyTypes") == virtual["spec"].get("policyTypes")


def check_names(virtual: dict[str, Any], host: dict[str, Any], target: translate.Target) -> None:
    """The host name is a valid DNS subdomain of at most 63 characters, in HNS."""
    name = host["metadata"]["name"]
    assert len(name) <= 63, f"host name {name!r} is longer than 63"
    assert netpol_validation.is_dns_subdomain(name), f"host name {name!r} is invalid"
    assert host["metadata"]["namespace"] == target.host_namespace
    meta = virtual["metadata"]
    assert name == translate.host_name(meta["name"], meta["namespace"], target.vcluster)


def check_pure(virtual: dict[str, Any], host: dict[str, Any], target: translate.Target) -> None:
    """Translating again, or translating a copy, gives the same result."""
    assert translate.to_host(virtual, target) == host  # type: ignore[arg-type]
    assert translate.to_host(copy.deepcopy(virtual), target) == host  # type: ignore[arg-type]


def check_all(virtual: dict[str, Any], target: translate.Target) -> None:
    """Every structural invariant of one translation."""
    before = copy.deepcopy(virtual)
    host: dict[str, Any] = translate.to_host(virtual, target)  # type: ignore[arg-type,assignment]
    assert virtual == before, "to_host mutated its input"
    check_scoped(virtual, host, target.vcluster)
    check_no_reserved_keys(virtual, host, target.vcluster)
    check_verbatim_parts(virtual, host)
    check_names(virtual, host, target)
    check_pure(virtual, host, target)
    assert translate.violations(host, host, target.vcluster) == []
    assert translate.virtual_key_of(host, target) == translate.key_of(virtual)  # type: ignore[arg-type]
    assert translate.key_of(virtual) == translate.ObjectKey(  # type: ignore[arg-type]
        virtual["metadata"]["namespace"], virtual["metadata"]["name"]
    )
    assert host["metadata"]["labels"][MANAGED_BY] == target.vcluster
    assert host["metadata"]["labels"][NAMESPACE] == virtual["metadata"]["namespace"]
    assert netpol_validation.problems(host) == [], "the host API server would reject the copy"


HOSTILE_VCLUSTERS = [
    "vc1",
    "tenant-b",
    "a-virtual-cluster-name-that-is-exactly-sixty-three-chars-long12",
]
"""Fixed names, so the hostile keys (their translated forms) are built once for all examples."""

ordinary = st.tuples(
    st.builds(
        translate.Target,
        vcluster=strategies.vcluster_names(),
        host_namespace=strategies.dns_labels(),
    ),
    strategies.network_policies(),
)
hostile = st.tuples(
    st.builds(
        translate.Target,
        vcluster=st.sampled_from(HOSTILE_VCLUSTERS),
        host_namespace=strategies.dns_labels(),
    ),
    strategies.network_policies(hostile_for=HOSTILE_VCLUSTERS),
)


@settings(max_examples=2000, deadline=None)
@given(case=st.one_of(ordinary, hostile))
def test_invariants_hold_for_generated_policies(
    case: tuple[translate.Target, dict[str, Any]],
) -> None:
    """Every invariant holds for 2,000 valid policies, ordinary and hostile alike.

    Ordinary: what a well-behaved tenant writes, for any VC name (short or 63 characters).
    Hostile: reserved keys, keys already translated for this or another VC, spoofed bookkeeping
    annotations, last-applied configuration and server-set metadata.
    """
    target, virtual = case
    assert netpol_validation.problems(virtual) == [], "the generator produced an invalid policy"
    check_all(virtual, target)
