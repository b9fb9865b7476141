"""The chart's host RBAC is exactly what the syncer uses, bound to the identity that runs it."""

from __future__ import annotations

import pytest

from tests.chart.conftest import Render
from tests.chart.manifests import flags, minimal_rules, the_container

MODES = [
    pytest.param({}, id="sidecar"),
    pytest.param({"vcluster": {"replicas": 2}}, id="sidecar-ha"),
    pytest.param({"mode": "standalone"}, id="standalone"),
    pytest.param({"mode": "standalone", "standalone": {"replicas": 2}}, id="standalone-ha"),
]


@pytest.mark.parametrize("values", MODES)
def test_the_role_has_exactly_the_minimal_rules(render: Render, values: dict[str, object]) -> None:
    """networkpolicies (no patch, no deletecollection), lease create, get/update on one Lease."""
    release = render(values)
    role = release.one("Role")
    assert role["rules"] == minimal_rules("shop-netpol-syncer")
    assert role["metadata"]["namespace"] == release.namespace


@pytest.mark.parametrize("values", MODES)
def test_nothing_cluster_wide_is_granted(render: Render, values: dict[str, object]) -> None:
    """No ClusterRole or ClusterRoleBinding: the syncer only touches the vCluster namespace."""
    release = render(values)
    assert not release.all("ClusterRole")
    assert not release.all("ClusterRoleBinding")
    assert len(release.all("Role")) == 1
    assert len(release.all("RoleBinding")) == 1


def test_the_lease_rule_names_the_lease_the_syncer_uses(render: Render) -> None:
    """A custom lease name moves both the resourceNames restriction and the flag."""
    release = render({"vcluster": {"replicas": 2}, "leaderElection": {"leaseName": "syncer-lock"}})
    assert release.one("Role")["rules"] == minimal_rules("syncer-lock")
    assert flags(the_container(release))["--leader-elect-resource-name"] == "syncer-lock"


def test_sidecar_binds_the_vcluster_service_account(render: Render) -> None:
    """In sidecar mode the Role goes to vc-<vcluster>, the pod's own service account."""
    release = render()
    binding = release.one("RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": release.one("Role")["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "vc-shop", "namespace": release.namespace}
    ]
    assert not release.all("ServiceAccount")


def test_sidecar_service_account_name_is_configurable(render: Render) -> None:
    """vcluster.serviceAccountName follows controlPlane.advanced.serviceAccount.name."""
    release = render({"vcluster": {"serviceAccountName": "shop-control-plane"}})
    assert release.one("RoleBinding")["subjects"][0]["name"] == "shop-control-plane"


def test_standalone_binds_its_own_service_account(render: Render) -> None:
    """In standalone mode the Deployment runs as the chart's ServiceAccount, which is bound."""
    release = render({"mode": "standalone"})
    account = release.one("ServiceAccount")
    name = account["metadata"]["name"]
    assert account["automountServiceAccountToken"] is True
    pod = release.one("Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == name
    assert release.one("RoleBinding")["subjects"] == [
        {"kind": "ServiceAccount", "name": name, "namespace": release.namespace}
    ]
