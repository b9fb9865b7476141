"""The semantic evaluator itself, checked against hand-worked upstream NetworkPolicy examples.

The equivalence property is only as strong as :mod:`tests.support.netpol_semantics`, so each rule
of its docstring is pinned here with a scenario whose answer follows from the Kubernetes
NetworkPolicy documentation alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import netpol_semantics as sem

NAMESPACES = {
    "default": {"kubernetes.io/metadata.name": "default"},
    "prod": {"kubernetes.io/metadata.name": "prod", "team": "a"},
    "dev": {"kubernetes.io/metadata.name": "dev", "team": "b"},
}
WEB = sem.Pod("web", "default", {"app": "web"}, (sem.ContainerPort(8080, "TCP", "http"),))
DB = sem.Pod("db", "default", {"app": "db"}, (sem.ContainerPort(5432, "TCP", "pg"),))
PROD_API = sem.Pod("api", "prod", {"app": "api"}, (sem.ContainerPort(80, "TCP", "http"),))
DEV_API = sem.Pod("api", "dev", {"app": "api"})
OUTSIDER = sem.Pod("stranger", "(outside)", {"app": "web"})
PODS = [WEB, DB, PROD_API, DEV_API]


def np(namespace: str, spec: dict[str, Any], name: str = "p") -> dict[str, Any]:
    """A NetworkPolicy dict."""
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def cluster(*policies: dict[str, Any]) -> sem.Cluster:
    """The fixed namespaces and pods with ``policies``."""
    return sem.Cluster(NAMESPACES, PODS, list(policies))


DENY_INGRESS = np("default", {"podSelector": {}, "policyTypes": ["Ingress"]}, "deny-in")
DENY_EGRESS = np("default", {"podSelector": {}, "policyTypes": ["Egress"]}, "deny-out")


def ingress_to_db(peers: list[Any] | None = None, ports: list[Any] | None = None) -> dict[str, Any]:
    """Policy selecting DB with one ingress rule (optional ``from`` and ``ports``)."""
    rule: dict[str, Any] = {}
    if peers is not None:
        rule["from"] = peers
    if ports is not None:
        rule["ports"] = ports
    return np("default", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [rule]})


Case = tuple[sem.Cluster, sem.Endpoint, sem.Endpoint, str, int, bool]

CASES: list[Any] = [
    pytest.param(cluster(), WEB, DB, "TCP", 5432, True, id="no-policies-allow-all"),
    pytest.param(cluster(DENY_INGRESS), WEB, DB, "TCP", 5432, False, id="default-deny-ingress"),
    pytest.param(
        cluster(DENY_INGRESS, DENY_EGRESS), DB, DB, "TCP", 5432, True, id="a-pod-reaches-itself"
    ),
    pytest.param(
        cluster(DENY_INGRESS), DB, PROD_API, "TCP", 80, True, id="deny-ingress-leaves-egress-open"
    ),
    pytest.param(
        cluster(DENY_INGRESS), PROD_API, DEV_API, "TCP", 80, True, id="other-namespaces-unaffected"
    ),
    pytest.param(cluster(DENY_EGRESS), WEB, PROD_API, "TCP", 80, False, id="default-deny-egress"),
    pytest.param(
        cluster(np("default", {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]})),
        WEB,
        PROD_API,
        "TCP",
        80,
        False,
        id="egress-rules-without-types-default-to-egress-isolation",
    ),
    pytest.param(
        cluster(np("default", {"podSelector": {}})),
        WEB,
        DB,
        "TCP",
        5432,
        False,
        id="no-types-no-rules-defaults-to-ingress-isolation",
    ),
    pytest.param(
        cluster(np("default", {"podSelector": {}})),
        WEB,
        PROD_API,
        "TCP",
        80,
        True,
        id="no-types-no-egress-rules-leaves-egress-open",
    ),
    pytest.param(
        cluster(np("default", {"podSelector": {}, "policyTypes": ["Ingress"], "egress": []})),
        WEB,
        PROD_API,
        "TCP",
        80,
        True,
        id="declared-types-win-over-rules",
    ),
    pytest.param(
        cluster(ingress_to_db([{"podSelector": {"matchLabels": {"app": "web"}}}])),
        WEB,
        DB,
        "TCP",
        5432,
        True,
        id="pod-selector-peer-same-namespace",
    ),
    pytest.param(
        cluster(ingress_to_db([{"podSelector": {"matchLabels": {"app": "api"}}}])),
        PROD_API,
        DB,
        "TCP",
        5432,
        False,
        id="pod-selector-peer-never-crosses-namespaces",
    ),
    pytest.param(
        cluster(ingress_to_db([{"namespaceSelector": {"matchLabels": {"team": "a"}}}])),
        PROD_API,
        DB,
        "TCP",
        5432,
        True,
        id="namespace-selector-peer",
    ),
    pytest.param(
        cluster(ingress_to_db([{"namespaceSelector": {"matchLabels": {"team": "a"}}}])),
        DEV_API,
        DB,
        "TCP",
        5432,
        False,
        id="namespace-selector-peer-other-labels",
    ),
    pytest.param(
        cluster(ingress_to_db([{"namespaceSelector": {}}])),
        DEV_API,
        DB,
        "TCP",
        5432,
        True,
        id="empty-namespace-selector-means-all-namespaces",
    ),
    pytest.param(
        cluster(ingress_to_db([{"namespaceSelector": {}}])),
        OUTSIDER,
        DB,
        "TCP",
        5432,
        False,
        id="outsiders-match-no-namespace-selector",
    ),
    pytest.param(
        cluster(ingress_to_db([{"podSelector": {}}])),
        OUTSIDER,
        DB,
        "TCP",
        5432,
        False,
        id="outsiders-match-no-pod-selector",
    ),
    pytest.param(
        cluster(ingress_to_db()), OUTSIDER, DB, "TCP", 5432, True, id="peerless-rule-admits-anyone"
    ),
    pytest.param(
        cluster(ingress_to_db([])), DEV_API, DB, "TCP", 5432, True, id="empty-from-admits-anyone"
    ),
    pytest.param(
        cluster(
            ingress_to_db(
                [
                    {
                        "namespaceSelector": {"matchLabels": {"team": "a"}},
                        "podSelector": {"matchLabels": {"app": "web"}},
                    }
                ]
            )
        ),
        PROD_API,
        DB,
        "TCP",
        5432,
        False,
        id="namespace-and-pod-selector-in-one-peer-are-anded",
    ),
    pytest.param(
        cluster(
            ingress_to_db(
                [
                    {"namespaceSelector": {"matchLabels": {"team": "a"}}},
                    {"podSelector": {"matchLabels": {"app": "web"}}},
                ]
            )
        ),
        PROD_API,
        DB,
        "TCP",
        5432,
        True,
        id="separate-peers-are-ored",
    ),
    pytest.param(
        cluster(
            ingress_to_db([{"podSelector": {"matchLabels": {"app": "web"}}}]),
            np(
                "default",
                {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]},
                "second",
            ),
        ),
        PROD_API,
        DB,
        "TCP",
        5432,
        True,
        id="policies-are-additive",
    ),
    pytest.param(
        cluster(ingress_to_db([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}])),
        sem.External("10.2.0.1"),
        DB,
        "TCP",
        5432,
        True,
        id="ip-block-admits-external-ip",
    ),
    pytest.param(
        cluster(ingress_to_db([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}])),
        sem.External("10.1.0.1"),
        DB,
        "TCP",
        5432,
        False,
        id="ip-block-except-refuses",
    ),
    pytest.param(
        cluster(ingress_to_db([{"ipBlock": {"cidr": "0.0.0.0/0"}}])),
        sem.External("2001:db8::1"),
        DB,
        "TCP",
        5432,
        False,
        id="ipv4-block-never-matches-ipv6",
    ),
    pytest.param(
        cluster(ingress_to_db([{"ipBlock": {"cidr": "0.0.0.0/0"}}])),
        WEB,
        DB,
        "TCP",
        5432,
        False,
        id="ip-block-never-matches-pods",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": 5432}])),
        WEB,
        DB,
        "TCP",
        5432,
        True,
        id="port-protocol-defaults-to-tcp",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": 5432}])),
        WEB,
        DB,
        "UDP",
        5432,
        False,
        id="port-other-protocol",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"protocol": "UDP"}])),
        WEB,
        DB,
        "UDP",
        9,
        True,
        id="protocol-without-port-means-every-port",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": 5000, "endPort": 5432}])),
        WEB,
        DB,
        "TCP",
        5432,
        True,
        id="end-port-inclusive",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": 5000, "endPort": 5431}])),
        WEB,
        DB,
        "TCP",
        5432,
        False,
        id="end-port-upper-bound",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": "pg"}])),
        WEB,
        DB,
        "TCP",
        5432,
        True,
        id="named-port-resolves-on-the-selected-pod",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": "pg"}])),
        WEB,
        DB,
        "TCP",
        5433,
        False,
        id="named-port-other-number",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": "pg", "protocol": "UDP"}])),
        WEB,
        DB,
        "UDP",
        5432,
        False,
        id="named-port-protocol-must-match-container-port",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[{"port": "http"}])),
        WEB,
        DB,
        "TCP",
        8080,
        False,
        id="named-port-of-the-source-does-not-count",
    ),
    pytest.param(
        cluster(
            np(
                "default",
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"ports": [{"port": "http"}]}],
                },
            )
        ),
        WEB,
        PROD_API,
        "TCP",
        80,
        True,
        id="egress-named-port-resolves-on-the-destination",
    ),
    pytest.param(
        cluster(
            np(
                "default",
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{"ports": [{"port": "http"}]}],
                },
            )
        ),
        WEB,
        sem.External("8.8.8.8"),
        "TCP",
        80,
        False,
        id="named-port-never-matches-external-ip",
    ),
    pytest.param(
        cluster(ingress_to_db(ports=[])),
        WEB,
        DB,
        "SCTP",
        1,
        True,
        id="empty-ports-mean-every-port",
    ),
    pytest.param(
        cluster(
            np(
                "default",
                {
                    "podSelector": {"matchLabels": {"app": "web"}},
                    "policyTypes": ["Egress"],
                    "egress": [],
                },
            ),
            ingress_to_db(),
        ),
        WEB,
        DB,
        "TCP",
        5432,
        False,
        id="pod-to-pod-needs-egress-at-source",
    ),
    pytest.param(
        cluster(
            np(
                "default",
                {
                    "podSelector": {"matchLabels": {"app": "web"}},
                    "policyTypes": ["Egress"],
                    "egress": [{}],
                },
            ),
            ingress_to_db([{"podSelector": {"matchLabels": {"app": "api"}}}]),
        ),
        WEB,
        DB,
        "TCP",
        5432,
        False,
        id="pod-to-pod-needs-ingress-at-destination",
    ),
]


@pytest.mark.parametrize(("world", "src", "dst", "protocol", "port", "expected"), CASES)
def test_connection_answers(
    world: sem.Cluster,
    src: sem.Endpoint,
    dst: sem.Endpoint,
    protocol: str,
    port: int,
    expected: bool,
) -> None:
    """Each scenario gets the answer the upstream documentation gives."""
    assert sem.allowed(world, src, dst, protocol, port) is expected


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [
        pytest.param({"key": "a", "operator": "In", "values": ["1"]}, {"a": "1"}, True, id="in"),
        pytest.param({"key": "a", "operator": "In", "values": ["1"]}, {}, False, id="in-missing"),
        pytest.param(
            {"key": "a", "operator": "NotIn", "values": ["1"]}, {"a": "1"}, False, id="notin"
        ),
        pytest.param(
            {"key": "a", "operator": "NotIn", "values": ["1"]}, {}, True, id="notin-missing"
        ),
        pytest.param({"key": "a", "operator": "Exists"}, {"a": ""}, True, id="exists-empty-value"),
        pytest.param({"key": "a", "operator": "DoesNotExist"}, {}, True, id="doesnotexist"),
        pytest.param(
            {"key": "a", "operator": "DoesNotExist"}, {"a": "x"}, False, id="doesnotexist-present"
        ),
    ],
)
def test_selector_requirements(
    requirement: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    """matchExpressions operators follow the label-selector rules (missing labels included)."""
    assert sem.requirement_matches(requirement, labels) is expected


def test_empty_selector_matches_everything_and_parts_are_anded() -> None:
    """{} selects all; matchLabels and matchExpressions must both hold."""
    assert sem.selector_matches({}, {})
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "Exists"}],
    }
    assert sem.selector_matches(selector, {"app": "web", "tier": "x"})
    assert not sem.selector_matches(selector, {"app": "web"})
    assert not sem.selector_matches(selector, {"tier": "x"})
