"""apply() over hostile generated policies: inputs untouched, results upstream-valid and scoped."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings

import guardrails
import translate
from tests.support import netpol_validation
from tests.support.strategies import network_policies

VC = "vc1"
TARGET = translate.Target(vcluster=VC, host_namespace="vc-host")
DNS = guardrails.facts_from_service(
    {
        "spec": {
            "selector": {"k8s-app": "kube-dns"},
            "ports": [{"port": 53, "protocol": "UDP", "targetPort": 1053}],
        }
    },
    VC,
    embedded=True,
)
CONFIG = guardrails.parse(
    {
        "dns": "auto",
        "blockedCIDRs": [*list(guardrails.SUGGESTED_BLOCKED_CIDRS), "10.0.0.0/8"],
        "hostPeers": {"mon": {"namespaceSelector": {"matchLabels": {"team": "platform"}}}},
    }
)
CONTEXT = guardrails.Context(dns=DNS)


@settings(max_examples=300, deadline=None)
@given(network_policies(hostile_for=VC))
def test_apply_is_pure_and_its_result_valid_and_scoped(virtual: dict[str, Any]) -> None:
    """Neither input changes; the guarded copy is valid and passes the sanctioned scoping."""
    host = translate.to_host(virtual, TARGET)  # type: ignore[arg-type]
    virtual_before, host_before = copy.deepcopy(virtual), copy.deepcopy(host)
    result = guardrails.apply(virtual, host, CONFIG, CONTEXT)  # type: ignore[arg-type]
    assert virtual == virtual_before
    assert host == host_before
    guarded = dict(result.policy)
    assert netpol_validation.problems(guarded) == []
    sanctioned = guardrails.sanctioned_peers(CONFIG, CONTEXT)
    assert translate.violations(guarded, guarded, VC, sanctioned_peers=sanctioned) == []
    assert translate.violations(guarded, host, VC, sanctioned_peers=sanctioned) == []
    if result.notes:  # a changed copy shares nothing with its inputs: patching it is safe
        result.policy["spec"]["podSelector"]["matchLabels"]["x"] = "y"
        result.policy["metadata"]["labels"]["x"] = "y"
        for rule in result.policy["spec"].get("egress", []):
            rule.setdefault("ports", []).append({"port": 1})
        assert host == host_before
        assert virtual == virtual_before
