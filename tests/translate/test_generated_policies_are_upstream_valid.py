"""The hypothesis strategies in tests.support.strategies generate only upstream-valid policies.

Every property in this folder (and in others that reuse the strategies) assumes its input is
something the virtual API server would have accepted; this file holds the generators to that
against the strict schema (a sample: schema validation is slow), and the 2,000-example invariant
test checks the server-side rules on every policy it draws.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from tests.support import kube_schema, netpol_validation, strategies
from tests.support.netpol_semantics import Cluster


@settings(max_examples=50, deadline=None)
@given(strategies.network_policies())
def test_ordinary_policies_are_valid(virtual: dict[str, Any]) -> None:
    """Ordinary generated policies pass the strict schema and the server-side rules."""
    kube_schema.assert_valid(virtual)


@settings(max_examples=50, deadline=None)
@given(strategies.network_policies(hostile_for="vc1"))
def test_hostile_policies_are_valid(virtual: dict[str, Any]) -> None:
    """Hostile generated policies are still valid: hostility lies in the keys, not the syntax."""
    kube_schema.assert_valid(virtual)


@settings(max_examples=50, deadline=None)
@given(strategies.virtual_clusters())
def test_virtual_cluster_policies_are_valid(cluster: Cluster) -> None:
    """Policies of generated virtual clusters are valid and live in the cluster's namespaces."""
    for policy in cluster.policies:
        assert netpol_validation.problems(policy) == []
        assert policy["metadata"]["namespace"] in cluster.namespaces
    for pod in cluster.pods:
        assert pod.namespace in cluster.namespaces
        assert all(netpol_validation.is_qualified_name(k) for k in pod.labels)
