"""SPEC §3 spec translation: the pod selector and every peer are scoped to this virtual cluster."""

from __future__ import annotations

from typing import Any

import pytest

import translate
from tests.translate.tables import MANAGED_BY, NAMESPACE, VC, label_key, ns_key, policy, to_host

SAME_NAMESPACE = {MANAGED_BY: VC, NAMESPACE: "default"}
ANY_NAMESPACE = {MANAGED_BY: VC}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param({}, {"matchLabels": SAME_NAMESPACE}, id="empty"),
        pytest.param(
            {"matchLabels": {"app": "web"}},
            {"matchLabels": {"app": "web", **SAME_NAMESPACE}},
            id="match-labels",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
            {
                "matchLabels": SAME_NAMESPACE,
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
            },
            id="match-expressions",
        ),
        pytest.param(
            {"matchLabels": {}, "matchExpressions": []},
            {"matchLabels": SAME_NAMESPACE},
            id="explicitly-empty-parts",
        ),
    ],
)
def test_pod_selector_gains_both_scoping_labels(
    selector: dict[str, Any], expected: dict[str, Any]
) -> None:
    """spec.podSelector = host_selector(tenant selector) + namespace=N + managed-by=VC."""
    assert to_host(policy({"podSelector": selector}))["spec"]["podSelector"] == expected
    assert translate.host_spec({"podSelector": selector}, "default", VC) == {  # type: ignore[typeddict-item]
        "podSelector": expected
    }


def _peer_cases() -> list[Any]:
    return [
        pytest.param(
            {"podSelector": {"matchLabels": {"app": "db"}}},
            {"podSelector": {"matchLabels": {"app": "db", **SAME_NAMESPACE}}},
            id="pod-selector-stays-in-its-namespace",
        ),
        pytest.param(
            {"podSelector": {}},
            {"podSelector": {"matchLabels": SAME_NAMESPACE}},
            id="empty-pod-selector-means-whole-namespace",
        ),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"team": "a"}}},
            {"podSelector": {"matchLabels": {ns_key("team"): "a", **ANY_NAMESPACE}}},
            id="namespace-selector-match-labels",
        ),
        pytest.param(
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["x"]},
                        {"key": "team", "operator": "DoesNotExist"},
                    ]
                }
            },
            {
                "podSelector": {
                    "matchLabels": ANY_NAMESPACE,
                    "matchExpressions": [
                        {
                            "key": ns_key("kubernetes.io/metadata.name"),
                            "operator": "In",
                            "values": ["x"],
                        },
                        {"key": ns_key("team"), "operator": "DoesNotExist"},
                    ],
                }
            },
            id="namespace-selector-match-expressions",
        ),
        pytest.param(
            {"namespaceSelector": {}},
            {"podSelector": {"matchLabels": ANY_NAMESPACE}},
            id="empty-namespace-selector-means-every-tenant-pod",
        ),
        pytest.param(
            {"namespaceSelector": {}, "podSelector": {}},
            {"podSelector": {"matchLabels": ANY_NAMESPACE}},
            id="both-empty",
        ),
        pytest.param(
            {
                "podSelector": {
                    "matchLabels": {"app": "web", "release": "r"},
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["front"]},
                        {"key": "release", "operator": "Exists"},
                    ],
                },
                "namespaceSelector": {
                    "matchLabels": {"team": "a"},
                    "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}],
                },
            },
            {
                "podSelector": {
                    "matchLabels": {
                        "app": "web",
                        label_key("release"): "r",
                        ns_key("team"): "a",
                    }
                    | ANY_NAMESPACE,
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["front"]},
                        {"key": label_key("release"), "operator": "Exists"},
                        {"key": ns_key("env"), "operator": "NotIn", "values": ["dev"]},
                    ],
                }
            },
            id="pod-and-namespace-selectors-merge-pod-expressions-first",
        ),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {}},
            {"podSelector": {"matchLabels": {ns_key("team"): "a", **ANY_NAMESPACE}}},
            id="namespace-selector-with-empty-pod-selector",
        ),
        pytest.param(
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.3.0/24"]}},
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.3.0/24"]}},
            id="ip-block-with-except-copied",
        ),
        pytest.param(
            {"ipBlock": {"cidr": "2001:db8::/32"}},
            {"ipBlock": {"cidr": "2001:db8::/32"}},
            id="ipv6-block-copied",
        ),
    ]


@pytest.mark.parametrize(("peer", "expected"), _peer_cases())
@pytest.mark.parametrize(("direction", "field"), [("ingress", "from"), ("egress", "to")])
def test_peer_translation(
    peer: dict[str, Any], expected: dict[str, Any], direction: str, field: str
) -> None:
    """Each peer becomes an ipBlock alone or one podSelector; never a namespaceSelector."""
    host = to_host(policy({"podSelector": {}, direction: [{field: [peer]}]}))
    assert host["spec"][direction] == [{field: [expected]}]
    assert translate.host_peer(peer, "default", VC) == expected  # type: ignore[arg-type]


def test_peers_keep_their_order_and_count() -> None:
    """A rule with several peers keeps them all, in order, each translated on its own."""
    peers = [
        {"ipBlock": {"cidr": "192.168.0.0/16"}},
        {"podSelector": {"matchLabels": {"app": "a"}}},
        {"namespaceSelector": {"matchLabels": {"team": "t"}}},
    ]
    host = to_host(policy({"podSelector": {}, "ingress": [{"from": peers}]}))
    assert host["spec"]["ingress"] == [
        {
            "from": [
                {"ipBlock": {"cidr": "192.168.0.0/16"}},
                {"podSelector": {"matchLabels": {"app": "a", **SAME_NAMESPACE}}},
                {"podSelector": {"matchLabels": {ns_key("team"): "t", **ANY_NAMESPACE}}},
            ]
        }
    ]


def test_peers_are_scoped_to_the_policys_own_virtual_namespace() -> None:
    """A podSelector-only peer gets the namespace of the policy it belongs to."""
    host = to_host(
        policy({"podSelector": {}, "egress": [{"to": [{"podSelector": {}}]}]}, namespace="data")
    )
    assert host["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"] == {
        MANAGED_BY: VC,
        NAMESPACE: "data",
    }
    assert host["spec"]["podSelector"]["matchLabels"] == {MANAGED_BY: VC, NAMESPACE: "data"}


@pytest.mark.parametrize(
    ("rule", "peers_field"),
    [
        pytest.param({}, "from", id="ingress-empty-rule"),
        pytest.param({"ports": [{"port": 80}]}, "from", id="ingress-ports-only"),
        pytest.param({"from": []}, "from", id="ingress-empty-from"),
        pytest.param({}, "to", id="egress-empty-rule"),
        pytest.param({"ports": [{"port": 53, "protocol": "UDP"}]}, "to", id="egress-ports-only"),
        pytest.param({"to": []}, "to", id="egress-empty-to"),
    ],
)
def test_rules_without_peers_stay_without_peers(rule: dict[str, Any], peers_field: str) -> None:
    """No peers means any source/destination; the host rule must not gain a peer."""
    direction = "ingress" if peers_field == "from" else "egress"
    host = to_host(policy({"podSelector": {}, direction: [rule]}))
    (host_rule,) = host["spec"][direction]
    assert not host_rule.get(peers_field), "a peerless rule gained peers"
    assert host_rule.get("ports") == rule.get("ports")
    assert set(host_rule) <= {"ports", peers_field}


def test_mixed_rules_keep_their_order() -> None:
    """Several rules per direction stay in order with their own ports and peers."""
    spec = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}], "ports": [{"port": 80}]},
            {"ports": [{"port": "metrics"}]},
        ],
        "egress": [
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]},
            {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]},
        ],
        "policyTypes": ["Ingress", "Egress"],
    }
    assert to_host(policy(spec))["spec"] == {
        "podSelector": {"matchLabels": {"app": "web", **SAME_NAMESPACE}},
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"app": "lb", **SAME_NAMESPACE}}}],
                "ports": [{"port": 80}],
            },
            {"ports": [{"port": "metrics"}]},
        ],
        "egress": [
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]},
            {
                "to": [{"podSelector": {"matchLabels": ANY_NAMESPACE}}],
                "ports": [{"port": 53, "protocol": "UDP"}],
            },
        ],
        "policyTypes": ["Ingress", "Egress"],
    }
