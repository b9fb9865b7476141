"""blockedCIDRs: each ipBlock shape, "any peer" rules, and rules left without peers (SPEC §9)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import guardrails
from tests.support import netpol_validation
from tests.support.strategies import ip_blocks


def blocked(*cidrs: str) -> tuple[Any, ...]:
    return guardrails.parse({"blockedCIDRs": list(cidrs)}).blocked_cidrs


@pytest.mark.parametrize(
    ("block", "blocked_ranges", "expected"),
    [
        pytest.param(
            {"cidr": "10.0.0.0/8"}, ["192.168.0.0/16"], {"cidr": "10.0.0.0/8"}, id="v4-disjoint"
        ),
        pytest.param({"cidr": "10.1.0.0/16"}, ["10.0.0.0/8"], None, id="v4-inside-blocked"),
        pytest.param({"cidr": "10.0.0.0/8"}, ["10.0.0.0/8"], None, id="v4-equals-blocked"),
        pytest.param(
            {"cidr": "0.0.0.0/0"},
            ["169.254.169.254/32"],
            {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]},
            id="v4-contains-blocked",
        ),
        pytest.param(
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
            ["10.1.2.0/24"],
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
            id="v4-blocked-already-excepted",
        ),
        pytest.param(
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.200.0.0/16"]},
            ["10.0.0.0/12"],
            {"cidr": "10.0.0.0/8", "except": ["10.200.0.0/16", "10.0.0.0/12"]},
            id="v4-blocked-swallows-an-except",
        ),
        pytest.param(
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
            ["10.1.0.0/16"],
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
            id="v4-blocked-equals-an-except",
        ),
        pytest.param(
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
            ["10.1.0.0/16", "10.2.0.0/16"],
            {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]},
            id="v4-one-blocked-excepted-one-added",
        ),
        pytest.param(
            {"cidr": "::/0"},
            ["fd00:ec2::254/128"],
            {"cidr": "::/0", "except": ["fd00:ec2::254/128"]},
            id="v6-contains-blocked",
        ),
        pytest.param({"cidr": "2001:db8:1::/48"}, ["2001:db8::/32"], None, id="v6-inside-blocked"),
        pytest.param({"cidr": "2001:db8::/32"}, ["2001:db8::/32"], None, id="v6-equals-blocked"),
        pytest.param(
            {"cidr": "2001:db8::/32"},
            ["10.0.0.0/8", "0.0.0.0/0"],
            {"cidr": "2001:db8::/32"},
            id="v6-untouched-by-v4",
        ),
        pytest.param(
            {"cidr": "203.0.113.0/24"},
            ["203.0.113.0/26", "203.0.113.128/26"],
            {"cidr": "203.0.113.0/24", "except": ["203.0.113.0/26", "203.0.113.128/26"]},
            id="v4-two-blocked-inside",
        ),
    ],
)
def test_each_ip_block_shape(
    block: dict[str, Any], blocked_ranges: list[str], expected: dict[str, Any] | None
) -> None:
    """Inside or equal: dropped; containing: excepted; disjoint or excepted: unchanged."""
    assert guardrails.narrow_block(block, blocked(*blocked_ranges)) == expected  # type: ignore[arg-type]


def host_policy(spec: dict[str, Any]) -> dict[str, Any]:
    """A host copy as ``translate.to_host`` shapes it (only the spec matters here)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p-x-default-x-vc1", "namespace": "host"},
        "spec": {"podSelector": {"matchLabels": {"vcluster.loft.sh/managed-by": "vc1"}}, **spec},
    }


POD_PEER = {"podSelector": {"matchLabels": {"vcluster.loft.sh/managed-by": "vc1", "app": "db"}}}
METADATA = blocked("169.254.169.254/32", "fd00:ec2::254/128")
ANY_PEER = [
    {"namespaceSelector": {}},
    {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}},
    {"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128"]}},
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"egress": [{"to": []}]},
            {"egress": [{"to": ANY_PEER}]},
            id="empty-to-becomes-all-pods-plus-public",
        ),
        pytest.param(
            {"egress": [{"ports": [{"port": 443}]}]},
            {"egress": [{"ports": [{"port": 443}], "to": ANY_PEER}]},
            id="missing-to-keeps-ports",
        ),
        pytest.param(
            {"ingress": [{}]},
            {"ingress": [{"from": ANY_PEER}]},
            id="empty-ingress-rule",
        ),
        pytest.param(
            {"egress": [{"to": [POD_PEER]}], "policyTypes": ["Egress"]},
            {"egress": [{"to": [POD_PEER]}], "policyTypes": ["Egress"]},
            id="pod-peers-untouched",
        ),
        pytest.param(
            {"egress": [{"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}]}, {"to": [POD_PEER]}]},
            {"egress": [{"to": [POD_PEER]}], "policyTypes": ["Ingress", "Egress"]},
            id="rule-with-only-blocked-peers-dropped",
        ),
        pytest.param(
            {"egress": [{"to": [{"ipBlock": {"cidr": "169.254.0.0/16"}}]}]},
            {
                "egress": [
                    {
                        "to": [
                            {
                                "ipBlock": {
                                    "cidr": "169.254.0.0/16",
                                    "except": ["169.254.169.254/32"],
                                }
                            }
                        ]
                    }
                ]
            },
            id="link-local-range-excepts-metadata",
        ),
        pytest.param(
            {
                "egress": [{"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}]}],
                "policyTypes": ["Egress"],
            },
            {"policyTypes": ["Egress"]},
            id="last-egress-rule-dropped-stays-isolated",
        ),
        pytest.param(
            {"egress": [{"to": [{"ipBlock": {"cidr": "fd00:ec2::254/128"}}, POD_PEER]}]},
            {"egress": [{"to": [POD_PEER]}]},
            id="blocked-peer-removed-others-kept",
        ),
    ],
)
def test_each_rule_shape(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    """Any-peer rules widen to all pods plus public space; blocked-only rules disappear."""
    result = guardrails.narrow(host_policy(spec), METADATA)  # type: ignore[arg-type]
    assert result.policy["spec"] == host_policy(expected)["spec"]
    assert netpol_validation.problems(dict(result.policy)) == []
    assert bool(result.notes) == (expected != spec)


def test_no_blocked_ranges_returns_the_copy_unchanged() -> None:
    """With blockedCIDRs empty the host copy is SPEC §3's translation, object for object."""
    policy = host_policy({"egress": [{}]})
    assert guardrails.narrow(policy, ()).policy is policy  # type: ignore[arg-type]


def test_whole_family_blocked_leaves_only_the_other_family() -> None:
    """Blocking 0.0.0.0/0 leaves all pods and ::/0 for an any-peer rule."""
    result = guardrails.narrow(host_policy({"egress": [{}]}), blocked("0.0.0.0/0"))  # type: ignore[arg-type]
    assert result.policy["spec"]["egress"] == [
        {"to": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "::/0"}}]}
    ]


def test_notes_say_what_changed() -> None:
    """Each narrowing gives the tenant one readable line naming the rule and peer."""
    result = guardrails.narrow(
        host_policy(
            {
                "ingress": [{}],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
                    {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}]},
                ],
            }
        ),  # type: ignore[arg-type]
        METADATA,
    )
    assert result.notes == (
        "ingress[0]: any source narrowed to all pods and 0.0.0.0/0 except 169.254.169.254/32; "
        "::/0 except fd00:ec2::254/128",
        "egress[0].to[0]: ipBlock 0.0.0.0/0 now excepts 169.254.169.254/32",
        "egress[1].to[0]: ipBlock 169.254.169.254/32 is blocked; removed",
        "egress[1]: every peer is blocked; rule removed",
    )


def _probe_addresses(networks: list[Any]) -> set[Any]:
    """Every boundary of every network involved, and the addresses just outside them."""
    out = set()
    for network in networks:
        top = 2**network.max_prefixlen - 1
        for value in (int(network.network_address), int(network.broadcast_address)):
            for delta in (-1, 0, 1):
                if 0 <= value + delta <= top:
                    kind = ipaddress.IPv4Address if network.version == 4 else ipaddress.IPv6Address
                    out.add(kind(value + delta))
    return out


def _inside(block: dict[str, Any] | None, address: Any) -> bool:
    if block is None:
        return False
    network = ipaddress.ip_network(block["cidr"])
    if address.version != network.version or address not in network:
        return False
    return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])


@st.composite
def blocked_sets(draw: st.DrawFn) -> list[Any]:
    return [ipaddress.ip_network(b["cidr"]) for b in draw(st.lists(ip_blocks(), max_size=3))]


@settings(max_examples=500, deadline=None)
@given(ip_blocks(), blocked_sets())
def test_narrowed_block_is_exactly_the_block_minus_blocked(
    block: dict[str, Any], blocked_networks: list[Any]
) -> None:
    """At every boundary address: inside the result iff inside the block and not blocked."""
    ranges = tuple(
        guardrails.parse({"blockedCIDRs": [str(n) for n in blocked_networks]}).blocked_cidrs
    )
    result = guardrails.narrow_block(block, ranges)  # type: ignore[arg-type]
    if result is not None:
        assert (
            netpol_validation.problems(
                {
                    "metadata": {"name": "p", "namespace": "n"},
                    "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": result}]}]},
                }
            )
            == []
        ), result
    involved = [
        ipaddress.ip_network(block["cidr"]),
        *map(ipaddress.ip_network, block.get("except") or []),
        *ranges,
    ]
    for address in _probe_addresses(involved):
        expected = _inside(block, address) and not any(
            address.version == r.version and address in r for r in ranges
        )
        assert _inside(result, address) == expected, (address, result)  # type: ignore[arg-type]
