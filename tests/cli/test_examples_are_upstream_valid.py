"""The shipped examples are what a tenant and a platform team would really apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.invoke import EXAMPLE_POLICIES
from tests.support import kube_schema


def test_the_handful_of_examples_is_there() -> None:
    """Default deny, DNS, ingress namespace, CIDR with except, named ports with endPort."""
    assert [p.name for p in EXAMPLE_POLICIES] == [
        "allow-dns.yaml",
        "allow-from-ingress.yaml",
        "default-deny.yaml",
        "egress-to-cidr.yaml",
        "named-ports.yaml",
    ]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in EXAMPLE_POLICIES])
def test_each_example_policy_passes_upstream_validation(path: Path) -> None:
    """Each file is one NetworkPolicy the Kubernetes API server accepts (strict schema)."""
    (policy,) = list(yaml.safe_load_all(path.read_text()))
    kube_schema.assert_valid(policy)


def test_the_examples_cover_the_features_they_claim() -> None:
    """Between them the examples use both directions, all peer kinds, named ports and endPort."""
    policies = [yaml.safe_load(p.read_text()) for p in EXAMPLE_POLICIES]
    text = yaml.safe_dump(policies)
    for feature in (
        "Egress",
        "Ingress",
        "namespaceSelector",
        "ipBlock",
        "except",
        "endPort",
        "port: http",
        "matchExpressions",
    ):
        assert feature in text, feature
    deny = next(p for p in policies if p["metadata"]["name"] == "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
