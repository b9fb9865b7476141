"""SPEC §3: ports and policyTypes are copied verbatim; empty ingress/egress lists are omitted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.translate.tables import policy, to_host


@pytest.mark.parametrize(
    "ports",
    [
        pytest.param([{"port": 80}], id="number"),
        pytest.param([{"port": 80, "protocol": "TCP"}], id="number-tcp"),
        pytest.param([{"port": 53, "protocol": "UDP"}], id="udp"),
        pytest.param([{"port": 3868, "protocol": "SCTP"}], id="sctp"),
        pytest.param([{"port": "http"}], id="named"),
        pytest.param([{"port": "dns", "protocol": "UDP"}], id="named-udp"),
        pytest.param([{"port": 32000, "endPort": 32768, "protocol": "TCP"}], id="range"),
        pytest.param([{"protocol": "UDP"}], id="protocol-only"),
        pytest.param([{}], id="empty-entry"),
        pytest.param([], id="empty-list"),
        pytest.param(
            [{"port": 443}, {"port": "metrics"}, {"port": 8000, "endPort": 9000}],
            id="several-in-order",
        ),
    ],
)
@pytest.mark.parametrize(("direction", "field"), [("ingress", "from"), ("egress", "to")])
def test_ports_are_copied_verbatim(ports: list[Any], direction: str, field: str) -> None:
    """Numbers, names, endPort and protocol reach the host exactly as written."""
    rule = {"ports": ports, field: [{"podSelector": {}}]}
    host = to_host(policy({"podSelector": {}, direction: [rule]}))
    assert host["spec"][direction][0]["ports"] == ports


@pytest.mark.parametrize(
    "types",
    [
        pytest.param(["Ingress"], id="ingress"),
        pytest.param(["Egress"], id="egress"),
        pytest.param(["Ingress", "Egress"], id="both"),
        pytest.param(["Egress", "Ingress"], id="both-reversed"),
    ],
)
def test_policy_types_are_copied(types: list[str]) -> None:
    """policyTypes is copied as is, order included."""
    assert (
        to_host(policy({"podSelector": {}, "policyTypes": types}))["spec"]["policyTypes"] == types
    )


def test_absent_policy_types_stay_absent() -> None:
    """Without policyTypes the host copy has none either (the host API server defaults it)."""
    assert "policyTypes" not in to_host(policy({"podSelector": {}}))["spec"]


@pytest.mark.parametrize(
    ("spec", "absent"),
    [
        pytest.param({"ingress": []}, {"ingress"}, id="empty-ingress"),
        pytest.param({"egress": []}, {"egress"}, id="empty-egress"),
        pytest.param(
            {"ingress": [], "egress": [], "policyTypes": ["Ingress", "Egress"]},
            {"ingress", "egress"},
            id="default-deny-both",
        ),
    ],
)
def test_empty_rule_lists_are_omitted(spec: dict[str, Any], absent: set[str]) -> None:
    """An empty ingress/egress list is omitted: it means the same as no list (deny all)."""
    host_spec = to_host(policy({"podSelector": {}, **spec}))["spec"]
    assert absent.isdisjoint(host_spec)
    assert host_spec.get("policyTypes") == spec.get("policyTypes")


def test_default_deny_policy_translates_to_a_scoped_default_deny() -> None:
    """The classic default-deny becomes exactly: scoped podSelector, same policyTypes, no rules."""
    host = to_host(policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
    assert host["spec"] == {
        "podSelector": {
            "matchLabels": {
                "vcluster.loft.sh/namespace": "default",
                "vcluster.loft.sh/managed-by": "vc1",
            }
        },
        "policyTypes": ["Ingress", "Egress"],
    }
