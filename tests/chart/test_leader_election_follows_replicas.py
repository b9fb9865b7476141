"""Leader election is on exactly when several replicas run, and HA comes with a PDB."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.conftest import Render
from tests.chart.manifests import flags, the_container

LEADER_FLAGS = {
    "--leader-elect": "true",
    "--leader-elect-resource-name": "shop-netpol-syncer",
    "--leader-elect-lease-duration": "15s",
    "--leader-elect-renew-deadline": "10s",
    "--leader-elect-retry-period": "2s",
}


def leader_flags(values: dict[str, Any], render: Render) -> dict[str, str]:
    return {k: v for k, v in flags(the_container(render(values))).items() if "leader" in k}


@pytest.mark.parametrize(
    ("values", "elected"),
    [
        pytest.param({"mode": "standalone"}, False, id="standalone-1"),
        pytest.param(
            {"mode": "standalone", "standalone": {"replicas": 2}}, True, id="standalone-2"
        ),
        pytest.param(
            {"mode": "standalone", "standalone": {"replicas": 3}}, True, id="standalone-3"
        ),
        pytest.param({}, False, id="sidecar-1"),
        pytest.param({"vcluster": {"replicas": 3}}, True, id="sidecar-3"),
        pytest.param(
            {"mode": "standalone", "leaderElection": {"enabled": True}}, True, id="forced-on"
        ),
        pytest.param(
            {
                "mode": "standalone",
                "standalone": {"replicas": 2},
                "leaderElection": {"enabled": False},
            },
            False,
            id="forced-off",
        ),
    ],
)
def test_leader_flags_iff_more_than_one_replica(
    render: Render, values: dict[str, object], elected: bool
) -> None:
    """auto elects with more than one replica; true/false force it; the lease name is stable."""
    assert leader_flags(values, render) == (LEADER_FLAGS if elected else {})


def test_lease_timings_are_passed_through(render: Render) -> None:
    """Custom durations reach the flags unchanged."""
    values = {
        "mode": "standalone",
        "standalone": {"replicas": 2},
        "leaderElection": {"leaseDuration": "30s", "renewDeadline": "20s", "retryPeriod": "4s"},
    }
    got = leader_flags(values, render)
    assert got["--leader-elect-lease-duration"] == "30s"
    assert got["--leader-elect-renew-deadline"] == "20s"
    assert got["--leader-elect-retry-period"] == "4s"


@pytest.mark.parametrize("replicas", [2, 3])
def test_standalone_ha_has_a_pod_disruption_budget(render: Render, replicas: int) -> None:
    """With more than one replica a PDB keeps one running and replicas prefer distinct nodes."""
    release = render({"mode": "standalone", "standalone": {"replicas": replicas}})
    deployment = release.one("Deployment")
    assert deployment["spec"]["replicas"] == replicas
    pdb = release.one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    affinity = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"mode": "standalone"}, id="standalone-1"),
        pytest.param({"vcluster": {"replicas": 3}}, id="sidecar-3"),
    ],
)
def test_no_pdb_without_a_standalone_ha_deployment(
    render: Render, values: dict[str, object]
) -> None:
    """A single replica gets no PDB (it would block drains); sidecars follow vCluster's own."""
    release = render(values)
    assert not release.all("PodDisruptionBudget")
    for deployment in release.all("Deployment"):
        assert "affinity" not in deployment["spec"]["template"]["spec"]


def test_rollout_starts_the_new_replica_before_stopping_the_old(render: Render) -> None:
    """maxUnavailable 0: a lone replica hands over instead of leaving a gap."""
    strategy = render({"mode": "standalone"}).one("Deployment")["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
