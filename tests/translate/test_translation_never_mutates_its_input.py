"""Translation is pure: the virtual object is never modified and shares nothing with the result."""

from __future__ import annotations

import copy
from typing import Any

import translate
from tests.translate.tables import TARGET, policy, to_host

RICH_SPEC: dict[str, Any] = {
    "podSelector": {
        "matchLabels": {"app": "web", "release": "r"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}],
    },
    "ingress": [
        {
            "from": [
                {
                    "podSelector": {"matchExpressions": [{"key": "x", "operator": "Exists"}]},
                    "namespaceSelector": {
                        "matchLabels": {"team": "t"},
                        "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["d"]}],
                    },
                },
                {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
            ],
            "ports": [{"port": 80, "endPort": 90}],
        }
    ],
    "egress": [{"to": [{"podSelector": {}}], "ports": [{"port": "dns", "protocol": "UDP"}]}],
    "policyTypes": ["Ingress", "Egress"],
}


def _rich_policy() -> dict[str, Any]:
    return policy(
        copy.deepcopy(RICH_SPEC),
        labels={"release": "r", "app": "web"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "a": "b"},
        resourceVersion="5",
        finalizers=["x/y"],
    )


def _scribble(value: Any) -> None:
    """Change every mutable container reachable from ``value``."""
    if isinstance(value, dict):
        for child in list(value.values()):
            _scribble(child)
        value["scribbled"] = True
    elif isinstance(value, list):
        for child in value:
            _scribble(child)
        value.append("scribbled")


def test_the_virtual_object_is_not_modified() -> None:
    """to_host leaves every nested field of its input as it was."""
    virtual = _rich_policy()
    before = copy.deepcopy(virtual)
    to_host(virtual)
    assert virtual == before


def test_the_result_shares_no_mutable_structure_with_the_input() -> None:
    """Patching the host copy in place (as patches do) cannot reach the virtual object."""
    virtual = _rich_policy()
    before = copy.deepcopy(virtual)
    _scribble(translate.to_host(virtual, TARGET))  # type: ignore[arg-type]
    assert virtual == before


def test_two_translations_share_no_mutable_structure() -> None:
    """Each call returns fresh objects, so a cached result cannot be corrupted by a later patch."""
    virtual = _rich_policy()
    first = translate.to_host(virtual, TARGET)  # type: ignore[arg-type]
    expected = copy.deepcopy(first)
    _scribble(translate.to_host(virtual, TARGET))  # type: ignore[arg-type]
    assert first == expected
