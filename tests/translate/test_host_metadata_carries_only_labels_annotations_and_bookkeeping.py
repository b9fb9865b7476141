"""SPEC §3 metadata: tenant labels and annotations carried over, bookkeeping added, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.translate.tables import (
    HNS,
    MANAGED_BY,
    NAMESPACE,
    VC,
    label_key,
    policy,
    sha10,
    to_host,
)

KIND = "networking.k8s.io/v1, Kind=NetworkPolicy"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MANAGED_ANNOTATIONS = "vcluster.loft.sh/managed-annotations"


def _ownership(name: str = "web", namespace: str = "default", uid: str = "uid-1") -> dict[str, str]:
    return {
        "vcluster.loft.sh/object-name": name,
        "vcluster.loft.sh/object-namespace": namespace,
        "vcluster.loft.sh/object-uid": uid,
        "vcluster.loft.sh/object-kind": KIND,
        "vcluster.loft.sh/object-host-name": f"{name}-x-{namespace}-x-{VC}",
        "vcluster.loft.sh/object-host-namespace": HNS,
    }


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param(None, {}, id="no-labels"),
        pytest.param({"app": "web", "team": ""}, {"app": "web", "team": ""}, id="plain-kept"),
        pytest.param(
            {"release": "r1", "vcluster.loft.sh/controlled-by": "x"},
            {label_key("release"): "r1", label_key("vcluster.loft.sh/controlled-by"): "x"},
            id="reserved-hashed",
        ),
        pytest.param(
            {MANAGED_BY: "other-vc", NAMESPACE: "kube-system"},
            {label_key(MANAGED_BY): "other-vc", label_key(NAMESPACE): "kube-system"},
            id="tenant-scoping-labels-cannot-override",
        ),
        pytest.param(
            {label_key("release"): "spoof", "app": "a"},
            {"app": "a"},
            id="already-translated-key-dropped",
        ),
        pytest.param(
            {"release": "real", label_key("release"): "spoof"},
            {label_key("release"): "real"},
            id="already-translated-key-cannot-shadow-the-real-one",
        ),
        pytest.param(
            {label_key("release"): "spoof", "release": "real"},
            {label_key("release"): "real"},
            id="already-translated-key-dropped-whatever-the-order",
        ),
        pytest.param(
            {label_key(MANAGED_BY): "x", label_key(NAMESPACE): "y"},
            {},
            id="every-translated-reserved-key-dropped",
        ),
    ],
)
def test_labels(labels: dict[str, str] | None, expected: dict[str, str]) -> None:
    """Labels: keys through host_label_key, translated reserved keys dropped, scope labels added."""
    host = to_host(policy(labels=labels))
    assert host["metadata"]["labels"] == {**expected, MANAGED_BY: VC, NAMESPACE: "default"}


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        pytest.param(None, {}, id="none"),
        pytest.param({}, {}, id="empty"),
        pytest.param(
            {"b.example.com/x": "2", "a": "1"},
            {"b.example.com/x": "2", "a": "1", MANAGED_ANNOTATIONS: "a\nb.example.com/x"},
            id="copied-and-listed-sorted",
        ),
        pytest.param(
            {"note": "multi\nline value", LAST_APPLIED: '{"kind":"NetworkPolicy"}'},
            {"note": "multi\nline value", MANAGED_ANNOTATIONS: "note"},
            id="last-applied-dropped",
        ),
        pytest.param({LAST_APPLIED: "{}"}, {}, id="only-last-applied-means-no-list"),
        pytest.param(
            {
                MANAGED_ANNOTATIONS: "evil\nkeys",
                "vcluster.loft.sh/object-name": "someone-else",
                "vcluster.loft.sh/object-namespace": "kube-system",
                "vcluster.loft.sh/object-uid": "spoof",
                "vcluster.loft.sh/object-kind": "v1, Kind=Secret",
                "vcluster.loft.sh/object-host-name": "other",
                "vcluster.loft.sh/object-host-namespace": "other",
                "keep": "me",
            },
            {"keep": "me", MANAGED_ANNOTATIONS: "keep"},
            id="tenant-bookkeeping-dropped",
        ),
        pytest.param(
            {"z": "", "Z": "", "a/b": "", "a.b/c": ""},
            {"z": "", "Z": "", "a/b": "", "a.b/c": "", MANAGED_ANNOTATIONS: "Z\na.b/c\na/b\nz"},
            id="sorted-by-code-point",
        ),
    ],
)
def test_annotations(annotations: dict[str, str] | None, expected: dict[str, str]) -> None:
    """Annotations: tenant ones minus last-applied and bookkeeping, the sorted list, ownership."""
    host = to_host(policy(annotations=annotations))
    assert host["metadata"]["annotations"] == {**expected, **_ownership()}


def test_ownership_annotations_describe_the_virtual_object() -> None:
    """object-* annotations name the virtual object, its uid, kind and the host copy."""
    name = "p" * 60
    host = to_host(policy(name=name, namespace="data", uid="0f0e-uid"))
    host_name = "p" * 52 + "-" + sha10(name + "-x-data-x-vc1")
    assert host["metadata"]["annotations"] == {
        "vcluster.loft.sh/object-name": name,
        "vcluster.loft.sh/object-namespace": "data",
        "vcluster.loft.sh/object-uid": "0f0e-uid",
        "vcluster.loft.sh/object-kind": KIND,
        "vcluster.loft.sh/object-host-name": host_name,
        "vcluster.loft.sh/object-host-namespace": HNS,
    }


SERVER_FIELDS: dict[str, Any] = {
    "resourceVersion": "12345",
    "generation": 7,
    "creationTimestamp": "2024-05-01T12:00:00Z",
    "deletionTimestamp": "2024-05-02T12:00:00Z",
    "deletionGracePeriodSeconds": 0,
    "finalizers": ["example.com/keep"],
    "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u"}],
    "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
    "generateName": "web-",
    "selfLink": "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/web",
}


def test_nothing_else_from_virtual_metadata_reaches_the_host() -> None:
    """uid, resourceVersion, owners, finalizers, managedFields, timestamps stay behind."""
    virtual = policy(labels={"app": "web"}, annotations={"a": "1"}, **SERVER_FIELDS)
    virtual["status"] = {}
    host = to_host(virtual)
    assert set(host) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(host["metadata"]) == {"name", "namespace", "labels", "annotations"}
    assert host["apiVersion"] == "networking.k8s.io/v1"
    assert host["kind"] == "NetworkPolicy"


def test_a_whole_policy_translates_exactly() -> None:
    """One realistic policy, every field of its host copy written out by hand from SPEC §3."""
    virtual = policy(
        {
            "podSelector": {"matchLabels": {"app": "api", "release": "prod"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress"}
                            },
                            "podSelector": {"matchLabels": {"app": "nginx"}},
                        },
                        {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.7/32"]}},
                    ],
                    "ports": [{"port": "http"}, {"port": 8443, "endPort": 8444}],
                }
            ],
            "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}],
        },
        name="api-allow",
        namespace="shop",
        uid="7d1c",
        labels={"team": "payments", "release": "prod"},
        annotations={LAST_APPLIED: "{}", "owner": "payments@example.com"},
        resourceVersion="99",
    )
    ns_name_key = f"vcluster.loft.sh/ns-label-vc1-x-{sha10('kubernetes.io/metadata.name')}"
    assert to_host(virtual) == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "api-allow-x-shop-x-vc1",
            "namespace": HNS,
            "labels": {
                "team": "payments",
                label_key("release"): "prod",
                MANAGED_BY: VC,
                NAMESPACE: "shop",
            },
            "annotations": {
                "owner": "payments@example.com",
                MANAGED_ANNOTATIONS: "owner",
                "vcluster.loft.sh/object-name": "api-allow",
                "vcluster.loft.sh/object-namespace": "shop",
                "vcluster.loft.sh/object-uid": "7d1c",
                "vcluster.loft.sh/object-kind": KIND,
                "vcluster.loft.sh/object-host-name": "api-allow-x-shop-x-vc1",
                "vcluster.loft.sh/object-host-namespace": HNS,
            },
        },
        "spec": {
            "podSelector": {
                "matchLabels": {
                    "app": "api",
                    label_key("release"): "prod",
                    NAMESPACE: "shop",
                    MANAGED_BY: VC,
                }
            },
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchLabels": {
                                    "app": "nginx",
                                    ns_name_key: "ingress",
                                    MANAGED_BY: VC,
                                }
                            }
                        },
                        {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.7/32"]}},
                    ],
                    "ports": [{"port": "http"}, {"port": 8443, "endPort": 8444}],
                }
            ],
            "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}],
        },
    }
