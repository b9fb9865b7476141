"""Every netpol-syncer container is locked down, probed on the right endpoints and sized."""

from __future__ import annotations

import pytest

from tests.chart.conftest import Render
from tests.chart.manifests import HARDENED_CONTAINER, containers, flags, the_container, volumes

MODES = [
    pytest.param({}, id="sidecar"),
    pytest.param({"mode": "standalone"}, id="standalone"),
    pytest.param({"mode": "standalone", "standalone": {"replicas": 2}}, id="standalone-ha"),
    pytest.param({"vcluster": {"replicas": 3}}, id="sidecar-ha"),
]


@pytest.mark.parametrize("values", MODES)
def test_every_container_has_the_hardened_security_context(
    render: Render, values: dict[str, object]
) -> None:
    """Non-root 65532, read-only root, no privilege escalation, no capabilities, seccomp."""
    found = containers(render(values))
    assert found
    for where, container in found:
        assert container["securityContext"] == HARDENED_CONTAINER, where


def test_standalone_pod_security_context_is_restricted(render: Render) -> None:
    """The Deployment's pod runs as 65532 with seccomp, and its volumes belong to group 65532."""
    deployment = render({"mode": "standalone"}).one("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is True
    assert "hostNetwork" not in pod
    assert "hostPID" not in pod


@pytest.mark.parametrize("values", MODES)
def test_probes_hit_healthz_and_readyz_on_the_metrics_port(
    render: Render, values: dict[str, object]
) -> None:
    """Liveness is /healthz everywhere, readiness /readyz in standalone mode only (a sidecar's
    readiness would be the vCluster pod's), both on the port --metrics-address binds."""
    for where, container in containers(render(values)):
        (port,) = container["ports"]
        assert port == {"name": "netpol-metrics", "containerPort": 9810, "protocol": "TCP"}
        assert flags(container)["--metrics-address"] == ":9810"
        assert container["livenessProbe"]["httpGet"] == {
            "path": "/healthz",
            "port": "netpol-metrics",
        }, where
        if values.get("mode") == "standalone":
            assert container["readinessProbe"]["httpGet"] == {
                "path": "/readyz",
                "port": "netpol-metrics",
            }, where
        else:
            assert "readinessProbe" not in container, where


def test_a_custom_metrics_port_moves_server_probes_and_service(render: Render) -> None:
    """metrics.port changes the flag, the container port the probes name, and the Service."""
    release = render({"metrics": {"port": 9090}})
    container = the_container(release)
    assert flags(container)["--metrics-address"] == ":9090"
    assert container["ports"][0]["containerPort"] == 9090
    service = release.one("Service")
    assert service["spec"]["ports"][0]["targetPort"] == "netpol-metrics"


@pytest.mark.parametrize("values", MODES)
def test_resources_are_requested_and_memory_is_limited(
    render: Render, values: dict[str, object]
) -> None:
    """Requests 50m/128Mi and a 256Mi memory limit by default (sized for ~10k policies)."""
    for where, container in containers(render(values)):
        assert container["resources"] == {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        }, where


@pytest.mark.parametrize("values", MODES)
def test_only_tmp_is_writable_and_it_is_an_empty_dir(
    render: Render, values: dict[str, object]
) -> None:
    """/tmp is an emptyDir; the config and the kubeconfig are mounted read-only."""
    release = render(values)
    by_name = {v["name"]: v for v in volumes(release)}
    for where, container in containers(release):
        for mount in container["volumeMounts"]:
            volume = by_name[mount["name"]]
            if mount["mountPath"] == "/tmp":
                assert "emptyDir" in volume, where
                assert not mount.get("readOnly", False)
            else:
                assert mount["readOnly"] is True, (where, mount)


def test_the_image_is_pinned_to_the_app_version(render: Render) -> None:
    """The default image tag is the chart's appVersion, never latest; a digest wins."""
    assert the_container(render())["image"] == "ghcr.io/netpol-syncer/netpol-syncer:0.1.0"
    digest = "sha256:" + "a" * 64
    pinned = the_container(render({"image": {"digest": digest}}))
    assert pinned["image"] == f"ghcr.io/netpol-syncer/netpol-syncer@{digest}"
