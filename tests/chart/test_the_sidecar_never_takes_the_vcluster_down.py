"""The sidecar block can never make the vCluster unreachable or keep its pod from starting.

Facts about vCluster's control-plane pod, from its chart and syncer source (v0.37):
- the pod's readiness is every container's; the vCluster Service has no
  publishNotReadyAddresses, so a not-ready sidecar cuts clients off the virtual API;
- a volume that cannot be mounted keeps the whole pod in ContainerCreating;
- the pod's terminationGracePeriodSeconds is 15, fixed in chart/templates/statefulset.yaml;
- inside the pod vCluster listens on 8443 (its API proxy), 6443 (kube-apiserver), 10257 and
  10259 (controller-manager, scheduler), 2379-2381 (etcd or kine, and their metrics), and with
  the embedded CoreDNS on 1053 (DNS), 8080 (health), 8181 (ready) and 9153 (metrics);
- it writes its kubeconfig Secrets with the key ``config``; ``exportKubeConfig.additionalSecrets``
  entries carry their own server, independent of the user's top-level ``exportKubeConfig``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncer.commands import running
from syncer.configuration import parsing, settings
from tests.chart.conftest import Render
from tests.chart.helm import Helm, HelmError
from tests.chart.manifests import flags, sidecar_block, the_container

VCLUSTER_GRACE_SECONDS = 15
VCLUSTER_POD_PORTS = frozenset({8443, 6443, 10257, 10259, 2379, 2380, 2381, 1053, 8080, 8181, 9153})
SHUTDOWN_OVERHEAD_SECONDS = running.SHUTDOWN_BUDGET - running.SHUTDOWN_GRACE
"""After the drain: event flush, lease release, metrics server stop (at most)."""

SIDECAR_MODES = [
    pytest.param({}, id="sidecar"),
    pytest.param({"vcluster": {"replicas": 3}}, id="sidecar-ha"),
]


def _block(render: Render, values: dict[str, Any]) -> dict[str, Any]:
    statefulset: dict[str, Any] = sidecar_block(render(values))["controlPlane"]["statefulSet"]
    return statefulset


@pytest.mark.parametrize("values", SIDECAR_MODES)
def test_no_probe_but_liveness_can_gate_the_pod(render: Render, values: dict[str, Any]) -> None:
    """No readinessProbe (nor a startupProbe, which would delay readiness the same way);
    liveness stays: it restarts the sidecar container only."""
    (container,) = _block(render, values)["sidecarContainers"]
    assert "readinessProbe" not in container
    assert "startupProbe" not in container
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "netpol-metrics"}


@pytest.mark.parametrize("values", SIDECAR_MODES)
def test_every_volume_may_be_absent(render: Render, values: dict[str, Any]) -> None:
    """ConfigMap and Secret volumes are optional; the rest is an emptyDir."""
    for volume in _block(render, values)["persistence"]["addVolumes"]:
        if "configMap" in volume:
            assert volume["configMap"]["optional"] is True, volume
        elif "secret" in volume:
            assert volume["secret"]["optional"] is True, volume
        else:
            assert set(volume) == {"name", "emptyDir"}, volume


def test_the_default_port_collides_with_nothing_vcluster_runs(render: Render) -> None:
    """The metrics port, in the chart and in the syncer's own default, is free in the pod."""
    container = the_container(render())
    (port,) = container["ports"]
    assert port["containerPort"] not in VCLUSTER_POD_PORTS
    assert flags(container)["--metrics-address"] == f":{port['containerPort']}"
    default = settings.Settings(name="a", host_namespace="b", virtual_kubeconfig="c")
    assert default.metrics_address == f":{port['containerPort']}"


@pytest.mark.parametrize("port", [8080, 9153, 8443])
def test_a_port_vcluster_uses_is_refused(
    helm: Helm, kubeconfig: Path, fresh_namespace: Any, port: int
) -> None:
    """Choosing a port vCluster listens on in its pod fails the install, naming the port."""
    with pytest.raises(HelmError) as refused:
        helm.install(
            "shop",
            namespace=fresh_namespace("port"),
            kubeconfig=kubeconfig,
            values={"metrics": {"port": port}},
        )
    assert f"metrics.port {port} is used by vCluster" in refused.value.message


def test_the_kubeconfig_is_a_dedicated_export_to_localhost(render: Render) -> None:
    """The block asks vCluster for a Secret of the sidecar's own, server https://localhost:8443
    (the proxy in the same pod), and mounts exactly that Secret's ``config`` key."""
    release = render()
    block = sidecar_block(release)
    (entry,) = block["exportKubeConfig"]["additionalSecrets"]
    assert entry == {"name": "vc-shop-netpol-syncer", "server": "https://localhost:8443"}
    statefulset = block["controlPlane"]["statefulSet"]
    container = statefulset["sidecarContainers"][0]
    volumes = {v["name"]: v for v in statefulset["persistence"]["addVolumes"]}
    secret = volumes["netpol-syncer-kubeconfig"]["secret"]
    assert secret["secretName"] == entry["name"]
    assert secret["items"] == [{"key": "config", "path": "config"}]
    assert flags(container)["--virtual-kubeconfig"] == "/etc/netpol-syncer/virtual/config"


def test_a_secret_named_by_the_user_is_not_exported_again(render: Render) -> None:
    """With export off, the block leaves exportKubeConfig alone and mounts the named Secret."""
    release = render({"vcluster": {"kubeconfigSecret": {"name": "vc-shop", "export": False}}})
    block = sidecar_block(release)
    assert "exportKubeConfig" not in block
    volumes = block["controlPlane"]["statefulSet"]["persistence"]["addVolumes"]
    (secret,) = [v["secret"] for v in volumes if "secret" in v]
    assert secret["secretName"] == "vc-shop"


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({}, id="default"),
        pytest.param({"controller": {"shutdownGracePeriodSeconds": 10}}, id="longest-allowed"),
    ],
)
def test_the_drain_ends_well_inside_the_pod_grace_period(
    render: Render, values: dict[str, Any]
) -> None:
    """--shutdown-grace plus the fixed shutdown steps ends at least 5 s before vCluster's pod
    is killed (15 s), so the syncer releases its lease and exits 0."""
    container = the_container(render(values))
    drain = parsing.parse_duration(flags(container)["--shutdown-grace"])
    assert drain + SHUTDOWN_OVERHEAD_SECONDS <= VCLUSTER_GRACE_SECONDS - 2.5
    default = settings.Settings(name="a", host_namespace="b", virtual_kubeconfig="c")
    if not values:
        assert drain == default.shutdown_grace


def test_the_standalone_pod_grace_period_covers_the_drain(render: Render) -> None:
    release = render({"mode": "standalone"})
    grace = release.one("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    drain = parsing.parse_duration(flags(the_container(release))["--shutdown-grace"])
    assert drain + SHUTDOWN_OVERHEAD_SECONDS < grace
