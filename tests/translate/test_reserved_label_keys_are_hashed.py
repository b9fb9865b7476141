"""SPEC §3 label keys: reserved keys hashed, namespace labels always hashed, values untouched."""

from __future__ import annotations

from typing import Any

import pytest

import translate
from tests.translate.tables import (
    MANAGED_BY,
    NAMESPACE,
    VC,
    label_key,
    ns_key,
    policy,
    sha10,
    to_host,
)

RESERVED = [
    "release",
    "vcluster.loft.sh/namespace",
    "vcluster.loft.sh/managed-by",
    "vcluster.loft.sh/controlled-by",
]


@pytest.mark.parametrize("key", [pytest.param(k, id=k) for k in RESERVED])
def test_reserved_keys_become_hashed_label_keys(key: str) -> None:
    """Each reserved key becomes vcluster.loft.sh/label-VC-x-<sha10(key)>."""
    assert translate.host_label_key(key, VC) == f"vcluster.loft.sh/label-vc1-x-{sha10(key)}"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("app", id="plain"),
        pytest.param("app.kubernetes.io/name", id="prefixed"),
        pytest.param("Release", id="case-differs"),
        pytest.param("releases", id="longer"),
        pytest.param("example.com/release", id="prefixed-release"),
        pytest.param("vcluster.loft.sh/other", id="vcluster-prefix-not-reserved"),
        pytest.param("kubernetes.io/metadata.name", id="namespace-name-label"),
    ],
)
def test_other_keys_are_unchanged(key: str) -> None:
    """Keys that are not exactly one of the four reserved keys pass through."""
    assert translate.host_label_key(key, VC) == key


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("team", id="plain"),
        pytest.param("kubernetes.io/metadata.name", id="namespace-name-label"),
        pytest.param("release", id="reserved"),
    ],
)
def test_namespace_label_keys_are_always_hashed(key: str) -> None:
    """Every namespace label key becomes vcluster.loft.sh/ns-label-VC-x-<sha10(key)>."""
    assert translate.host_namespace_label_key(key, VC) == (
        f"vcluster.loft.sh/ns-label-vc1-x-{sha10(key)}"
    )


@pytest.mark.parametrize(
    ("vcluster", "expected"),
    [
        pytest.param(
            "v" * 27, "vcluster.loft.sh/label-" + "v" * 27 + "-x-" + sha10("release"), id="63"
        ),
        pytest.param(
            "v" * 28,
            "vcluster.loft.sh/label-"
            + "v" * 28
            + "--"
            + sha10("vcluster.loft.sh/label-" + "v" * 28 + "-x-" + sha10("release")),
            id="64-hashed-cut-after-dash",
        ),
        pytest.param(
            "v" * 63,
            "vcluster.loft.sh/label-"
            + "v" * 29
            + "-"
            + sha10("vcluster.loft.sh/label-" + "v" * 63 + "-x-" + sha10("release")),
            id="very-long",
        ),
    ],
)
def test_reserved_keys_of_long_vclusters_fall_back_to_a_hash(vcluster: str, expected: str) -> None:
    """The translated key is itself a safe_concat, so long VC names are hashed to 63 chars."""
    assert translate.host_label_key("release", vcluster) == expected


@pytest.mark.parametrize(
    ("vcluster", "expected"),
    [
        pytest.param(
            "v" * 24, "vcluster.loft.sh/ns-label-" + "v" * 24 + "-x-" + sha10("team"), id="63"
        ),
        pytest.param(
            "v" * 25,
            "vcluster.loft.sh/ns-label-"
            + "v" * 25
            + "--"
            + sha10("vcluster.loft.sh/ns-label-" + "v" * 25 + "-x-" + sha10("team")),
            id="64-hashed",
        ),
    ],
)
def test_namespace_keys_of_long_vclusters_fall_back_to_a_hash(vcluster: str, expected: str) -> None:
    """Namespace-label keys follow the same 63-character fallback."""
    assert translate.host_namespace_label_key("team", vcluster) == expected


def _selector_cases() -> list[Any]:
    tenant = {
        "matchLabels": {"release": "r1", "app": "web", NAMESPACE: "fake", MANAGED_BY: "evil"},
        "matchExpressions": [
            {"key": "vcluster.loft.sh/controlled-by", "operator": "In", "values": ["a", "b"]},
            {"key": "tier", "operator": "NotIn", "values": ["db"]},
            {"key": "release", "operator": "Exists"},
            {"key": MANAGED_BY, "operator": "DoesNotExist"},
        ],
    }
    pod_labels = {
        label_key("release"): "r1",
        "app": "web",
        label_key(NAMESPACE): "fake",
        label_key(MANAGED_BY): "evil",
    }
    pod_expressions = [
        {
            "key": label_key("vcluster.loft.sh/controlled-by"),
            "operator": "In",
            "values": ["a", "b"],
        },
        {"key": "tier", "operator": "NotIn", "values": ["db"]},
        {"key": label_key("release"), "operator": "Exists"},
        {"key": label_key(MANAGED_BY), "operator": "DoesNotExist"},
    ]
    ns_labels = {
        ns_key("release"): "r1",
        ns_key("app"): "web",
        ns_key(NAMESPACE): "fake",
        ns_key(MANAGED_BY): "evil",
    }
    ns_expressions = [
        {"key": ns_key("vcluster.loft.sh/controlled-by"), "operator": "In", "values": ["a", "b"]},
        {"key": ns_key("tier"), "operator": "NotIn", "values": ["db"]},
        {"key": ns_key("release"), "operator": "Exists"},
        {"key": ns_key(MANAGED_BY), "operator": "DoesNotExist"},
    ]
    return [
        pytest.param(
            {"podSelector": tenant},
            {
                "matchLabels": pod_labels | {MANAGED_BY: VC, NAMESPACE: "default"},
                "matchExpressions": pod_expressions,
            },
            id="peer-pod-selector",
        ),
        pytest.param(
            {"namespaceSelector": tenant},
            {"matchLabels": ns_labels | {MANAGED_BY: VC}, "matchExpressions": ns_expressions},
            id="peer-namespace-selector",
        ),
    ]


@pytest.mark.parametrize(("peer", "expected"), _selector_cases())
@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_reserved_keys_in_peer_selectors_are_hashed(
    peer: dict[str, Any], expected: dict[str, Any], direction: str
) -> None:
    """Peer selectors keep values, operators and order; only keys are translated."""
    field = "from" if direction == "ingress" else "to"
    host = to_host(policy({"podSelector": {}, direction: [{field: [peer]}]}))
    assert host["spec"][direction] == [{field: [{"podSelector": expected}]}]


def test_reserved_keys_in_the_pod_selector_are_hashed() -> None:
    """The policy's own podSelector hashes reserved keys; a tenant cannot set the scope labels."""
    host = to_host(
        policy(
            {
                "podSelector": {
                    "matchLabels": {NAMESPACE: "other-ns", MANAGED_BY: "other-vc", "app": "a"},
                    "matchExpressions": [
                        {"key": "release", "operator": "In", "values": ["r"]},
                        {"key": "app", "operator": "Exists"},
                    ],
                }
            }
        )
    )
    assert host["spec"]["podSelector"] == {
        "matchLabels": {
            label_key(NAMESPACE): "other-ns",
            label_key(MANAGED_BY): "other-vc",
            "app": "a",
            NAMESPACE: "default",
            MANAGED_BY: VC,
        },
        "matchExpressions": [
            {"key": label_key("release"), "operator": "In", "values": ["r"]},
            {"key": "app", "operator": "Exists"},
        ],
    }


def test_translated_keys_in_selectors_pass_through_unchanged() -> None:
    """A selector key that already looks translated is not a reserved key, so it is kept as is.

    SPEC §3 rewrites selectors only with host_label_key; such a key then matches the host label
    of the tenant's own reserved label. Scoping to the tenant's pods still holds.
    """
    translated = label_key("release")
    host = to_host(policy({"podSelector": {"matchLabels": {translated: "r"}}}))
    assert host["spec"]["podSelector"]["matchLabels"] == {
        translated: "r",
        NAMESPACE: "default",
        MANAGED_BY: VC,
    }
