"""isolation: managed: baselines select exactly the pods no tenant policy selects (SPEC §9)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import guardrails
import translate
from tests.support import netpol_semantics as sem
from tests.support import netpol_validation
from tests.support.strategies import (
    POD_LABEL_KEYS,
    POD_LABEL_VALUES,
    dns_labels,
    dns_subdomains,
    small_selectors,
)
from tests.translate.tables import TARGET, policy


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        pytest.param([], [{}], id="no-policy-selects-everyone"),
        pytest.param([{}], [], id="empty-selector-leaves-no-one"),
        pytest.param(
            [{"matchLabels": {"app": "web"}}],
            [{"matchExpressions": [expr("app", "NotIn", "web")]}],
            id="one-label",
        ),
        pytest.param(
            [{"matchLabels": {"app": "web"}}, {"matchLabels": {"tier": "db"}}],
            [{"matchExpressions": [expr("app", "NotIn", "web"), expr("tier", "NotIn", "db")]}],
            id="two-policies-conjoin",
        ),
        pytest.param(
            [{"matchLabels": {"app": "web", "tier": "db"}}],
            [
                {"matchExpressions": [expr("app", "NotIn", "web")]},
                {"matchExpressions": [expr("tier", "NotIn", "db")]},
            ],
            id="two-labels-expand",
        ),
        pytest.param(
            [
                {"matchExpressions": [expr("app", "Exists")]},
                {"matchExpressions": [expr("app", "DoesNotExist")]},
            ],
            [],
            id="exists-and-absent-cover-everyone",
        ),
        pytest.param(
            [
                {"matchExpressions": [expr("app", "In", "a", "b")]},
                {"matchExpressions": [expr("app", "NotIn", "a")]},
            ],
            [],
            id="in-and-notin-cover-everyone",
        ),
        pytest.param(
            [{"matchExpressions": [expr("app", "NotIn", "a")]}],
            [{"matchExpressions": [expr("app", "In", "a")]}],
            id="notin-negates-to-in",
        ),
    ],
)
def test_complement_tables(selectors: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Negation with NotIn/DoesNotExist, expanded and pruned."""
    assert guardrails.complement_of_union(selectors) == expected


SELECTORS = small_selectors(st.sampled_from(POD_LABEL_KEYS), st.sampled_from(POD_LABEL_VALUES))
LABELS = st.dictionaries(st.sampled_from(POD_LABEL_KEYS), st.sampled_from(POD_LABEL_VALUES))


@settings(max_examples=1_000, deadline=None)
@given(st.lists(SELECTORS, max_size=3), st.lists(LABELS, min_size=1, max_size=8))
def test_complement_selects_exactly_what_no_selector_selects(
    selectors: list[dict[str, Any]], label_sets: list[dict[str, str]]
) -> None:
    """For any label set: some complement selector matches iff no input selector matches."""
    complement = guardrails.complement_of_union(selectors, max_policies=10_000)
    assert complement is not None
    for labels in label_sets:
        selected = any(sem.selector_matches(s, labels) for s in selectors)
        in_complement = any(sem.selector_matches(s, labels) for s in complement)
        assert in_complement != selected, (labels, complement)


def test_baselines_for_one_namespace() -> None:
    """Ingress isolated for app=web only: the ingress baseline takes the rest, egress takes all."""
    config = guardrails.parse({"isolation": "managed", "blockedCIDRs": ["169.254.169.254/32"]})
    tenant = policy({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]})
    result = guardrails.baseline("default", [tenant], config, TARGET)  # type: ignore[list-item]
    assert result.warnings == ()
    ingress, egress = (dict(p) for p in result.policies)
    scoping = {"vcluster.loft.sh/namespace": "default", "vcluster.loft.sh/managed-by": "vc1"}
    assert ingress["spec"]["podSelector"] == {
        "matchExpressions": [expr("app", "NotIn", "web")],
        "matchLabels": scoping,
    }
    assert ingress["spec"]["policyTypes"] == ["Ingress"]
    assert ingress["spec"]["ingress"] == [{"from": guardrails.any_peer(config.blocked_cidrs)}]
    assert egress["spec"]["podSelector"] == {"matchLabels": scoping}
    assert ingress["metadata"]["name"].startswith("ingress-")
    assert ingress["metadata"]["name"].endswith("-x-default-x-vc1.baseline")
    assert ingress["metadata"]["labels"]["netpol-syncer.io/baseline"] == "namespace"
    for p in result.policies:
        assert netpol_validation.problems(dict(p)) == []


def test_isolation_off_writes_no_baseline() -> None:
    """Default: the syncer owns no isolation."""
    assert guardrails.baseline("default", [], guardrails.Guardrails(), TARGET).policies == ()


def test_expansion_past_the_bound_falls_back_to_the_whole_namespace() -> None:
    """Too many combinations: one baseline selecting every pod, and a warning saying so."""
    config = guardrails.parse({"isolation": "managed"})
    tenants = [
        policy({"podSelector": {"matchLabels": {f"k{i}": "a", f"j{i}": "b"}}}, name=f"p{i}")
        for i in range(7)
    ]  # 2**7 = 128 combinations
    result = guardrails.baseline("default", tenants, config, TARGET)  # type: ignore[arg-type]
    assert result.warnings == (
        "default: ingress baseline needs more than 64 policies; falling back to one that "
        "selects every pod of the namespace",
    )
    ingress = dict(result.policies[0])
    assert ingress["spec"]["podSelector"] == {
        "matchLabels": {
            "vcluster.loft.sh/namespace": "default",
            "vcluster.loft.sh/managed-by": "vc1",
        }
    }


@settings(max_examples=500, deadline=None)
@given(dns_subdomains(), dns_labels(), dns_labels())
def test_no_tenant_copy_is_named_like_a_baseline(name: str, namespace: str, vcluster: str) -> None:
    """The part of a tenant copy's name after its last dot always holds a ``-``; a baseline's
    (``baseline``) never does, whatever the lengths (hashed names included)."""
    copy = translate.host_name(name, namespace, vcluster)
    assert "-" in copy.rsplit(".", 1)[-1]
    target = translate.Target(vcluster=vcluster, host_namespace="h")
    config = guardrails.parse({"isolation": "managed"})
    made = guardrails.plan([], None, config, target).policies
    made += guardrails.baseline(namespace, [], config, target).policies
    for baseline in made:
        baseline_name = baseline["metadata"]["name"]
        assert baseline_name.endswith(".baseline")
        assert len(baseline_name) <= 63
        assert netpol_validation.problems(dict(baseline)) == []


def test_a_pod_is_exempt_only_while_its_host_copy_selects_it() -> None:
    """No host copy yet: nothing exempt. A copy a patch narrowed: only what both select."""
    tenant = policy({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]})
    assert guardrails.exemptions([tenant], {}, TARGET) == {"Ingress": [], "Egress": []}  # type: ignore[list-item]
    copy = translate.to_host(tenant, TARGET)  # type: ignore[arg-type]
    narrowed = dict(copy)
    narrowed["spec"] = {
        **copy["spec"],
        "podSelector": {
            **copy["spec"]["podSelector"],
            "matchExpressions": [expr("tier", "In", "front")],
        },
    }
    exempt = guardrails.exemptions([tenant], {"web": narrowed}, TARGET)  # type: ignore[list-item,dict-item]
    assert exempt["Ingress"] == [
        {"matchExpressions": [expr("app", "In", "web"), expr("tier", "In", "front")]}
    ]
    assert exempt["Egress"] == []


def test_the_others_baseline_leaves_out_namespaces_with_baselines() -> None:
    """One per direction, selecting the vCluster's pods outside the given namespaces; read
    back by :func:`guardrails.covered_by_others`."""
    config = guardrails.parse({"isolation": "managed"})
    others = guardrails.others_baselines(["b", "a"], config, TARGET)
    assert [p["spec"]["policyTypes"] for p in others] == [["Ingress"], ["Egress"]]
    assert others[0]["spec"]["podSelector"] == {
        "matchLabels": {"vcluster.loft.sh/managed-by": "vc1"},
        "matchExpressions": [expr("vcluster.loft.sh/namespace", "NotIn", "a", "b")],
    }
    assert guardrails.covered_by_others(others) == {"a", "b"}  # type: ignore[arg-type]
    assert guardrails.covered_by_others(others[:1]) is None  # type: ignore[arg-type]


def test_hostile_selectors_take_the_fallback_quickly() -> None:
    """64 selectors of 3 requirements each are 3**64 combinations: the complement is built one
    selector at a time and abandoned past its bound, so this returns at once."""
    selectors = [{"matchLabels": {f"a{i}": "x", f"b{i}": "y", f"c{i}": "z"}} for i in range(64)]
    started = time.process_time()
    assert guardrails.complement_of_union(selectors) is None
    assert time.process_time() - started < 30, "the product was enumerated"


def test_contradicting_selectors_still_give_the_exact_complement() -> None:
    """Many selectors whose negations mostly contradict still have a small exact complement."""
    selectors = [{"matchLabels": {"tier": f"t{i}"}} for i in range(40)]
    complement = guardrails.complement_of_union(selectors)
    assert complement is not None
    assert len(complement) == 1
    (only,) = complement
    (requirement,) = only["matchExpressions"]
    assert requirement["operator"] == "NotIn"
    assert sorted(requirement["values"]) == sorted(f"t{i}" for i in range(40))
