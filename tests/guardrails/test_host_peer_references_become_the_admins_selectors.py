"""hostPeers: a reserved namespace label references an admin-approved host peer (SPEC §9)."""

from __future__ import annotations

from typing import Any

import pytest

import guardrails
import translate
from tests.support import netpol_semantics as sem
from tests.translate.tables import TARGET, policy, to_host

INGRESS_NGINX = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
}
CONFIG = guardrails.parse(
    {
        "hostPeers": {
            "ingress-nginx": INGRESS_NGINX,
            "monitoring": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
            },
        }
    }
)


def reference(name: str, **extra: Any) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {guardrails.HOST_PEER_LABEL: name}}, **extra}


def guarded(virtual: dict[str, Any], config: guardrails.Guardrails = CONFIG) -> dict[str, Any]:
    host = to_host(virtual)
    return dict(guardrails.apply(virtual, host, config).policy)  # type: ignore[arg-type]


def test_reference_becomes_exactly_the_admins_selectors() -> None:
    """The host peer is the admin's entry verbatim; other peers keep their translation."""
    virtual = policy(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [
                {
                    "from": [
                        reference("ingress-nginx"),
                        {"podSelector": {"matchLabels": {"a": "b"}}},
                    ],
                    "ports": [{"port": 8080}],
                }
            ],
        }
    )
    host = guarded(virtual)
    peers = host["spec"]["ingress"][0]["from"]
    assert peers[0] == INGRESS_NGINX
    assert peers[1] == to_host(virtual)["spec"]["ingress"][0]["from"][1]
    assert host["spec"]["ingress"][0]["ports"] == [{"port": 8080}]


def test_reference_in_egress_is_resolved_too() -> None:
    """Egress to an approved peer (e.g. monitoring push gateway) works the same way."""
    host = guarded(policy({"podSelector": {}, "egress": [{"to": [reference("monitoring")]}]}))
    assert host["spec"]["egress"][0]["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


@pytest.mark.parametrize(
    ("peer", "message"),
    [
        pytest.param(
            reference("grafana"),
            "spec.ingress[0].from[0]: unknown host peer 'grafana' "
            "(approved: ingress-nginx, monitoring)",
            id="unknown-name",
        ),
        pytest.param(
            reference("monitoring", podSelector={"matchLabels": {"app": "x"}}),
            "spec.ingress[0].from[0]: host peer reference 'monitoring' must use only the "
            "netpol-syncer.io/host-peer label (found a podSelector)",
            id="with-pod-selector",
        ),
        pytest.param(
            {
                "namespaceSelector": {
                    "matchLabels": {guardrails.HOST_PEER_LABEL: "monitoring", "team": "a"}
                }
            },
            "spec.ingress[0].from[0]: host peer reference 'monitoring' must use only the "
            "netpol-syncer.io/host-peer label (found other namespace labels)",
            id="with-other-labels",
        ),
    ],
)
def test_bad_references_are_refused_naming_the_peer(peer: dict[str, Any], message: str) -> None:
    """The controller turns the refusal into a Warning event; nothing is translated."""
    virtual = policy({"podSelector": {}, "ingress": [{"from": [peer]}]})
    with pytest.raises(guardrails.HostPeerRefused) as caught:
        guardrails.apply(virtual, to_host(virtual), CONFIG)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_without_host_peers_the_label_is_an_ordinary_namespace_label() -> None:
    """Default translation is unchanged when no host peer is configured."""
    virtual = policy({"podSelector": {}, "ingress": [{"from": [reference("ingress-nginx")]}]})
    result = guardrails.apply(virtual, to_host(virtual), guardrails.Guardrails())  # type: ignore[arg-type]
    assert result.policy == to_host(virtual)
    assert result.notes == ()


def test_scoping_accepts_exactly_the_sanctioned_host_peers() -> None:
    """The admin's peer passes the scoping check only when it is configured; a tenant-written
    namespaceSelector never passes."""
    virtual = policy({"podSelector": {}, "ingress": [{"from": [reference("ingress-nginx")]}]})
    host = guarded(virtual)
    sanctioned = guardrails.sanctioned_peers(CONFIG)
    assert translate.violations(host, host, TARGET.vcluster, sanctioned_peers=sanctioned) == []
    assert translate.violations(host, host, TARGET.vcluster) != []
    forged = {**host, "spec": {**host["spec"], "ingress": [{"from": [{"namespaceSelector": {}}]}]}}
    assert translate.violations(forged, host, TARGET.vcluster, sanctioned_peers=sanctioned) == [
        "/spec/ingress/0/from/0/namespaceSelector is not allowed on a host peer "
        "(only ipBlock or podSelector)",
        "/spec/ingress/0/from/0/podSelector/matchLabels/vcluster.loft.sh~1managed-by must be 'vc1'",
    ]


def test_only_the_named_host_pods_are_admitted() -> None:
    """Evaluated on a host: the ingress controller gets in, other host pods do not."""
    virtual = policy(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [reference("ingress-nginx")]}],
        }
    )
    host = guarded(virtual)
    web = sem.Pod(
        "web",
        TARGET.host_namespace,
        {
            "app": "web",
            "vcluster.loft.sh/managed-by": "vc1",
            "vcluster.loft.sh/namespace": "default",
        },
    )
    controller = sem.Pod("c", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    other_in_same_namespace = sem.Pod("x", "ingress-nginx", {"app.kubernetes.io/name": "other"})
    prometheus = sem.Pod("p", "monitoring", {"app.kubernetes.io/name": "ingress-nginx"})
    cluster = sem.Cluster(
        {
            TARGET.host_namespace: {},
            "ingress-nginx": {"kubernetes.io/metadata.name": "ingress-nginx"},
            "monitoring": {"kubernetes.io/metadata.name": "monitoring"},
        },
        [web, controller, other_in_same_namespace, prometheus],
        [host],
    )
    assert sem.allowed(cluster, controller, web, "TCP", 80)
    assert not sem.allowed(cluster, other_in_same_namespace, web, "TCP", 80)
    assert not sem.allowed(cluster, prometheus, web, "TCP", 80)
