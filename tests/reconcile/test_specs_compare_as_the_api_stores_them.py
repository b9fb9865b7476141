"""``normalized_spec``: a spec compares as the API server stores it, so that fields the server
defaults or drops (``omitempty``) are never the reason for a write."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import translate
from tests.support import strategies
from tests.support.harness import TARGET, VCLUSTER, as_stored
from translate import diff


def _policy(spec: dict[str, Any]) -> translate.NetworkPolicy:
    virtual = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
        "spec": spec,
    }
    return translate.to_host(virtual, TARGET)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        pytest.param(
            {"ingress": [{"ports": [{"port": 80}]}]},
            {"ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}], "policyTypes": ["Ingress"]},
            id="protocol-and-policy-types-defaulted",
        ),
        pytest.param(
            {"egress": [{}]},
            {"egress": [{}], "policyTypes": ["Ingress", "Egress"]},
            id="egress-rules-imply-egress-type",
        ),
        pytest.param(
            {"egress": [], "ingress": [], "policyTypes": []},
            {"policyTypes": ["Ingress"]},
            id="empty-rule-lists-dropped",
        ),
        pytest.param(
            {"ingress": [{"from": [], "ports": []}]},
            {"ingress": [{}], "policyTypes": ["Ingress"]},
            id="empty-peers-and-ports-dropped",
        ),
        pytest.param(
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": []}}]}]},
            {
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
                "policyTypes": ["Ingress"],
            },
            id="empty-except-dropped",
        ),
        pytest.param(
            {
                "podSelector": {
                    "matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]
                }
            },
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}},
            id="empty-requirement-values-dropped",
        ),
    ],
)
def test_a_written_spec_equals_its_stored_form(
    written: dict[str, Any], stored: dict[str, Any]
) -> None:
    """Each shape normalizes to the same spec as what the server stores for it."""
    written = {"podSelector": {}, **written}
    stored = {"podSelector": {}, **stored}
    assert diff.normalized_spec(written) == diff.normalized_spec(stored)
    assert diff.normalized_spec(as_stored(_policy(written))["spec"]) == diff.normalized_spec(
        _policy(written)["spec"]
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param({"ingress": [{}]}, {"ingress": []}, id="allow-all-is-not-deny-all"),
        pytest.param(
            {"ingress": [{"from": [{"namespaceSelector": {}}]}]},
            {"ingress": [{"from": [{"podSelector": {}}]}]},
            id="all-namespaces-is-not-own-namespace",
        ),
        pytest.param(
            {"policyTypes": ["Egress"]}, {"policyTypes": ["Ingress"]}, id="explicit-types-kept"
        ),
        pytest.param(
            {"ingress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]},
            {"ingress": [{"ports": [{"port": 53}]}]},
            id="protocol-kept",
        ),
    ],
)
def test_specs_that_mean_different_things_stay_different(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    """Normalizing never merges two specs that enforce different traffic."""
    assert diff.normalized_spec({"podSelector": {}, **a}) != diff.normalized_spec(
        {"podSelector": {}, **b}
    )


def test_normalizing_leaves_its_input_alone() -> None:
    """The spec given is not modified (it may be a cached object)."""
    spec = {"podSelector": {}, "ingress": [{"ports": [{"port": 80}], "from": []}], "egress": []}
    before = copy.deepcopy(spec)
    diff.normalized_spec(spec)
    assert spec == before


_EMPTY_OPTIONAL = st.sampled_from(["values", "matchLabels", "except", "ports", "from", "to"])


def _sprinkle(value: Any, keys: set[str]) -> Any:
    """``value`` with an empty list/map added for each optional key in ``keys`` it could have."""
    if isinstance(value, dict):
        out = {k: _sprinkle(v, keys) for k, v in value.items()}
        if "operator" in out and "values" in keys:
            out.setdefault("values", [])
        if ("matchExpressions" in out or "matchLabels" in out) and "matchLabels" in keys:
            out.setdefault("matchLabels", {})
        if "cidr" in out and "except" in keys:
            out.setdefault("except", [])
        return out
    if isinstance(value, list):
        return [_sprinkle(v, keys) for v in value]
    return value


@settings(max_examples=150, deadline=None)
@given(policy=strategies.network_policies(), empties=st.sets(_EMPTY_OPTIONAL))
def test_empty_optional_fields_never_cause_a_write(
    policy: dict[str, Any], empties: set[str]
) -> None:
    """A desired copy with empty optional lists and maps (as a patch may add them) equals the
    copy the server stores for it."""
    desired = _policy(policy["spec"])
    desired["spec"] = _sprinkle(desired["spec"], empties)
    assert diff.owned_equal(desired, as_stored(desired), VCLUSTER)


def test_a_missing_pod_selector_is_stored_as_the_empty_selector() -> None:
    """The API stores an omitted ``podSelector`` as ``{}`` (every pod), so both compare equal."""
    stored = {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert diff.normalized_spec({"policyTypes": ["Ingress"]}) == stored
    assert diff.normalized_spec(stored) == stored
