"""Host objects validate against the official Kubernetes schema (``kubernetes-validate``, strict).

Every unit table already goes through :func:`tests.translate.tables.to_host`, which validates;
this file adds a generated sample and proves the validation is not vacuous.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import translate
from tests.support import kube_schema, netpol_validation, strategies
from tests.translate.tables import policy, to_host

VCLUSTERS = ["vc1", "a-virtual-cluster-name-that-is-exactly-sixty-three-chars-long12"]


def test_the_newest_shipped_schema_is_used() -> None:
    """Validation targets the newest Kubernetes version the package ships (1.37 or later)."""
    major, minor, *_ = (int(p) for p in kube_schema.KUBERNETES_VERSION.split("."))
    assert (major, minor) >= (1, 37)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        pytest.param(lambda h: h["spec"].update(bogus=1), "bogus", id="unknown-spec-field"),
        pytest.param(
            lambda h: h["spec"]["podSelector"].update(matchLabels=["x"]),
            "matchLabels",
            id="wrong-type",
        ),
        pytest.param(
            lambda h: h["spec"].update(ingress=[{"from": [{"ipBlock": {"except": []}}]}]),
            "cidr",
            id="missing-required-cidr",
        ),
        pytest.param(lambda h: h.update(kind="Pod"), "kind Pod", id="wrong-kind"),
    ],
)
def test_schema_rejects_broken_objects(edit: Any, problem: str) -> None:
    """The strict schema catches unknown fields, wrong types and missing required fields."""
    host = copy.deepcopy(to_host(policy()))
    edit(host)
    errors = kube_schema.schema_errors(host)
    assert errors
    assert problem in errors[0]


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda h: h["metadata"].update(name="x" * 64 + "."), id="bad-name"),
        pytest.param(lambda h: h["metadata"]["labels"].update({"bad key!": "v"}), id="bad-key"),
        pytest.param(lambda h: h["metadata"]["labels"].update({"k": "v" * 64}), id="long-value"),
        pytest.param(
            lambda h: h["spec"]["podSelector"].update(
                matchExpressions=[{"key": "a", "operator": "In"}]
            ),
            id="in-without-values",
        ),
        pytest.param(
            lambda h: h["spec"].update(ingress=[{"ports": [{"port": "http", "endPort": 90}]}]),
            id="end-port-on-named-port",
        ),
        pytest.param(
            lambda h: h["spec"].update(
                egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/8"]}}]}]
            ),
            id="except-outside-cidr",
        ),
        pytest.param(lambda h: h["spec"].update(ingress=[{"from": [{}]}]), id="empty-peer"),
    ],
)
def test_upstream_rules_reject_what_the_schema_cannot_see(edit: Any) -> None:
    """The server-side rules (names, label syntax, operators, ports, CIDRs) are enforced too."""
    host = copy.deepcopy(to_host(policy()))
    edit(host)
    with pytest.raises(AssertionError, match="invalid against Kubernetes"):
        kube_schema.assert_valid(host)


@settings(max_examples=100, deadline=None)
@given(
    vcluster=st.sampled_from(VCLUSTERS),
    virtual=strategies.network_policies(hostile_for=VCLUSTERS),
)
def test_generated_host_objects_validate(vcluster: str, virtual: dict[str, Any]) -> None:
    """A sample of hostile-but-valid policies all translate to schema-valid host objects."""
    host = translate.to_host(virtual, translate.Target(vcluster, "host-ns"))  # type: ignore[arg-type]
    kube_schema.assert_valid(host)
    assert netpol_validation.problems(host) == []
