"""dns: auto: a tenant's "allow DNS on 53" also reaches the real DNS endpoint (SPEC §9)."""

from __future__ import annotations

from typing import Any

import pytest

import guardrails
import translate
from tests.translate.tables import TARGET, policy, to_host

KUBE_DNS = {
    "metadata": {"name": "kube-dns", "namespace": "kube-system"},
    "spec": {
        "selector": {"k8s-app": "kube-dns"},
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 1053},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 1053},
        ],
    },
}
SYNCED = guardrails.facts_from_service(KUBE_DNS, TARGET.vcluster, embedded=False)
EMBEDDED = guardrails.facts_from_service(KUBE_DNS, TARGET.vcluster, embedded=True)
SYNCED_PEER = {
    "podSelector": {
        "matchLabels": {
            "k8s-app": "kube-dns",
            "vcluster.loft.sh/namespace": "kube-system",
            "vcluster.loft.sh/managed-by": "vc1",
        }
    }
}
EMBEDDED_PEER = {"podSelector": {"matchLabels": {"app": "vcluster", "release": "vc1"}}}
CONFIG = guardrails.parse({"dns": "auto"})
KUBE_DNS_PEER = {
    "namespaceSelector": {},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
UDP_53 = [{"protocol": "UDP", "port": 53}]
BOTH_53 = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def dns_rule(*protocols: str, peer: dict[str, Any] = SYNCED_PEER) -> dict[str, Any]:
    return {"ports": [{"protocol": p, "port": 1053} for p in protocols], "to": [peer]}


@pytest.mark.parametrize(
    ("egress", "facts", "added"),
    [
        pytest.param(
            [{"to": [KUBE_DNS_PEER], "ports": UDP_53}],
            SYNCED,
            dns_rule("UDP"),
            id="all-namespaces-kube-dns-udp-53",
        ),
        pytest.param(
            [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            }
                        }
                    ],
                    "ports": BOTH_53,
                }
            ],
            SYNCED,
            dns_rule("UDP", "TCP"),
            id="kube-system-namespace-port-53-both",
        ),
        pytest.param([{"ports": UDP_53}], SYNCED, dns_rule("UDP"), id="port-53-only-any-peer"),
        pytest.param(
            [{"to": [{"namespaceSelector": {}}]}], SYNCED, dns_rule("UDP", "TCP"), id="no-ports"
        ),
        pytest.param(
            [{"to": [KUBE_DNS_PEER], "ports": BOTH_53}],
            EMBEDDED,
            dns_rule("UDP", "TCP", peer=EMBEDDED_PEER),
            id="embedded-coredns",
        ),
        pytest.param(
            [{"to": [KUBE_DNS_PEER], "ports": [{"protocol": "UDP", "port": 50, "endPort": 60}]}],
            SYNCED,
            dns_rule("UDP"),
            id="port-range-over-53",
        ),
        pytest.param(
            [{"to": [KUBE_DNS_PEER], "ports": [{"protocol": "UDP"}]}],
            SYNCED,
            dns_rule("UDP"),
            id="every-udp-port",
        ),
    ],
)
def test_each_dns_shape_reaches_the_real_endpoint(
    egress: list[dict[str, Any]], facts: guardrails.DnsFacts, added: dict[str, Any]
) -> None:
    """The host copy keeps the tenant's rules and gains exactly one rule to the endpoint."""
    virtual = policy({"podSelector": {}, "egress": egress, "policyTypes": ["Egress"]})
    plain = to_host(virtual)
    result = guardrails.apply(virtual, plain, CONFIG, guardrails.Context(dns=facts))  # type: ignore[arg-type]
    assert result.policy["spec"]["egress"] == [*plain["spec"]["egress"], added]
    assert len(result.notes) == 1


@pytest.mark.parametrize(
    "egress",
    [
        pytest.param([{"to": [KUBE_DNS_PEER], "ports": [{"port": 80}]}], id="other-port"),
        pytest.param(
            [{"to": [KUBE_DNS_PEER], "ports": [{"protocol": "SCTP", "port": 53}]}], id="sctp"
        ),
        pytest.param(
            [{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": UDP_53}],
            id="same-namespace-only",
        ),
        pytest.param(
            [
                {
                    "to": [
                        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}
                    ],
                    "ports": UDP_53,
                }
            ],
            id="other-pods",
        ),
        pytest.param(
            [{"to": [{"ipBlock": {"cidr": "8.8.8.8/32"}}], "ports": UDP_53}], id="external-dns"
        ),
        pytest.param(
            [{"to": [KUBE_DNS_PEER], "ports": [{"protocol": "UDP", "port": "dns"}]}],
            id="named-port-already-resolves",
        ),
        pytest.param(
            [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/metadata.name",
                                        "operator": "NotIn",
                                        "values": ["kube-system"],
                                    }
                                ]
                            }
                        }
                    ],
                    "ports": UDP_53,
                }
            ],
            id="all-but-kube-system",
        ),
    ],
)
def test_rules_that_do_not_allow_dns_are_not_widened(egress: list[dict[str, Any]]) -> None:
    """No endpoint rule unless the tenant allowed 53 (UDP/TCP) to peers including kube-dns."""
    virtual = policy({"podSelector": {}, "egress": egress, "policyTypes": ["Egress"]})
    plain = to_host(virtual)
    result = guardrails.apply(virtual, plain, CONFIG, guardrails.Context(dns=SYNCED))  # type: ignore[arg-type]
    assert result.policy == plain
    assert result.notes == ()


def test_dns_off_or_unknown_adds_nothing() -> None:
    """dns: off, or dns: auto before the kube-dns Service is known, leaves the copy alone."""
    virtual = policy({"podSelector": {}, "egress": [{"ports": UDP_53}]})
    plain = to_host(virtual)
    off = guardrails.apply(virtual, plain, guardrails.Guardrails(), guardrails.Context(dns=SYNCED))  # type: ignore[arg-type]
    unknown = guardrails.apply(virtual, plain, CONFIG)  # type: ignore[arg-type]
    assert off.policy == plain
    assert unknown.policy == plain


def test_ingress_rules_are_never_touched() -> None:
    """DNS is an egress concern; an ingress rule on 53 gains nothing."""
    virtual = policy({"podSelector": {}, "ingress": [{"ports": UDP_53}]})
    plain = to_host(virtual)
    assert guardrails.apply(virtual, plain, CONFIG, guardrails.Context(dns=SYNCED)).policy == plain  # type: ignore[arg-type]


def test_dns_endpoint_with_blocked_cidrs_passes_scoping() -> None:
    """With every guardrail on, the endpoint and all-pods peers are exactly what scoping allows."""
    config = guardrails.parse({"dns": "auto", "blockedCIDRs": ["169.254.169.254/32"]})
    context = guardrails.Context(dns=EMBEDDED)
    virtual = policy({"podSelector": {}, "egress": [{"ports": UDP_53}]})
    host = dict(guardrails.apply(virtual, to_host(virtual), config, context).policy)  # type: ignore[arg-type]
    assert host["spec"]["egress"][-1] == dns_rule("UDP", peer=EMBEDDED_PEER)
    sanctioned = guardrails.sanctioned_peers(config, context)
    assert translate.violations(host, host, "vc1", sanctioned_peers=sanctioned) == []
    assert len(translate.violations(host, host, "vc1")) > 0


def test_service_without_target_port_uses_53() -> None:
    """A kube-dns Service whose port has no targetPort targets 53 itself."""
    service = {
        "spec": {"selector": {"k8s-app": "kube-dns"}, "ports": [{"port": 53, "protocol": "UDP"}]}
    }
    facts = guardrails.facts_from_service(service, "vc1", embedded=False)
    assert dict(facts.target_ports) == {"UDP": 53}
