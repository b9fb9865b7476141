"""Leader election is on whenever two syncers can run at once (several replicas, or a standalone
rolling update); HA comes with a PDB; a rollout never runs two unfenced syncers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chart.conftest import Render
from tests.chart.helm import Helm, HelmError
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
        pytest.param({"mode": "standalone"}, True, id="standalone-1"),
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
            {"mode": "standalone", "leaderElection": {"enabled": False}},
            False,
            id="forced-off",
        ),
        pytest.param({"leaderElection": {"enabled": False}}, False, id="sidecar-forced-off"),
    ],
)
def test_leader_flags_whenever_two_syncers_can_run(
    render: Render, values: dict[str, object], elected: bool
) -> None:
    """auto elects in standalone mode and with more than one replica; true/false force it;
    the lease name is stable."""
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
    """maxUnavailable 0: a lone replica hands over instead of leaving a gap; the lease (on by
    default in standalone mode) fences the two pods of the rollout."""
    release = render({"mode": "standalone"})
    assert flags(the_container(release))["--leader-elect"] == "true"
    strategy = release.one("Deployment")["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_without_leader_election_the_old_pod_stops_first(render: Render) -> None:
    """With leader election forced off nothing fences two pods: the rollout recreates."""
    release = render({"mode": "standalone", "leaderElection": {"enabled": False}})
    assert "--leader-elect" not in flags(the_container(release))
    assert release.one("Deployment")["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"mode": "standalone", "standalone": {"replicas": 2}}, id="standalone-2"),
        pytest.param({"vcluster": {"replicas": 3}}, id="sidecar-3"),
    ],
)
def test_several_replicas_without_leader_election_are_refused(
    helm: Helm,
    kubeconfig: Path,
    fresh_namespace: Callable[[str], str],
    values: dict[str, Any],
) -> None:
    """Several writers without a lease is refused at install, with the reason."""
    values = {**values, "leaderElection": {"enabled": False}}
    with pytest.raises(HelmError) as refused:
        helm.install(
            "shop", namespace=fresh_namespace("unfenced"), kubeconfig=kubeconfig, values=values
        )
    assert "leaderElection.enabled=false with" in refused.value.message
    assert "every replica would write" in refused.value.message
