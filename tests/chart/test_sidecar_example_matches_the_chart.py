"""examples/vcluster-values.yaml is what the chart renders, and sidecar and Deployment agree."""

from __future__ import annotations

import yaml

from tests.chart.conftest import Render
from tests.chart.helm import REPO
from tests.chart.manifests import flags, sidecar_block, the_container

EXAMPLE = REPO / "examples" / "vcluster-values.yaml"


def test_the_example_equals_the_rendered_sidecar_block(render: Render) -> None:
    """The published example is the block the chart renders for the vCluster "shop"."""
    example = yaml.safe_load(EXAMPLE.read_text())
    assert example == sidecar_block(render())


def test_the_block_uses_only_vcluster_chart_keys(render: Render) -> None:
    """The block sets controlPlane.statefulSet.sidecarContainers, .persistence.addVolumes, one
    exportKubeConfig.additionalSecrets entry, and keeps vCluster's own network-policy syncer
    off; nothing else."""
    block = sidecar_block(render())
    assert set(block) == {"sync", "exportKubeConfig", "controlPlane"}
    assert block["sync"] == {"toHost": {"networkPolicies": {"enabled": False}}}
    assert set(block["exportKubeConfig"]) == {"additionalSecrets"}
    assert set(block["controlPlane"]) == {"statefulSet"}
    assert set(block["controlPlane"]["statefulSet"]) == {"sidecarContainers", "persistence"}
    assert set(block["controlPlane"]["statefulSet"]["persistence"]) == {"addVolumes"}


def test_sidecar_and_deployment_run_the_same_container(render: Render) -> None:
    """One container definition: the sidecar equals the standalone Deployment's container,
    except that the Deployment always elects a leader (its rollouts run two pods at once) and
    only the Deployment has a readinessProbe (it gates nothing but its own pod)."""
    sidecar = the_container(render())
    deployment = the_container(render({"mode": "standalone"}))
    elected = [a for a in deployment["args"] if a.startswith("--leader-elect")]
    assert "--leader-elect=true" in elected
    deployment["args"] = [a for a in deployment["args"] if a not in elected]
    assert "readinessProbe" not in sidecar
    del deployment["readinessProbe"]
    assert sidecar == deployment


def test_the_sidecar_mounts_what_the_block_adds(render: Render) -> None:
    """Every mount names an added volume: the chart's ConfigMap, the dedicated kubeconfig
    Secret, an emptyDir."""
    release = render()
    block = sidecar_block(release)["controlPlane"]["statefulSet"]
    (container,) = block["sidecarContainers"]
    volumes = {v["name"]: v for v in block["persistence"]["addVolumes"]}
    assert {m["name"] for m in container["volumeMounts"]} == set(volumes)
    assert volumes["netpol-syncer-config"]["configMap"] == {
        "name": "shop-netpol-syncer",
        "optional": True,  # the netpol-syncer chart may be uninstalled before the vCluster
    }
    release.one("ConfigMap", "shop-netpol-syncer")
    secret = volumes["netpol-syncer-kubeconfig"]["secret"]
    assert secret["secretName"] == "vc-shop-netpol-syncer"
    assert secret["optional"] is True  # vCluster writes it after the pod has started
    assert secret["defaultMode"] == 0o444  # the pod's fsGroup is vCluster's, not ours
    assert volumes["netpol-syncer-tmp"] == {
        "name": "netpol-syncer-tmp",
        "emptyDir": {"sizeLimit": "32Mi"},
    }


def test_the_block_follows_the_vcluster_name(render: Render) -> None:
    """For another vCluster every name in the block changes with it."""
    release = render({"vcluster": {"name": "billing", "kubeconfigSecret": {"key": "kubeconfig"}}})
    assert sidecar_block(release)["exportKubeConfig"]["additionalSecrets"] == [
        {"name": "vc-billing-netpol-syncer", "server": "https://localhost:8443"}
    ]
    block = sidecar_block(release)["controlPlane"]["statefulSet"]
    container = block["sidecarContainers"][0]
    assert flags(container)["--name"] == "billing"
    assert flags(container)["--virtual-kubeconfig"] == "/etc/netpol-syncer/virtual/kubeconfig"
    volumes = {v["name"]: v for v in block["persistence"]["addVolumes"]}
    assert volumes["netpol-syncer-config"]["configMap"]["name"] == "billing-netpol-syncer"
    assert volumes["netpol-syncer-kubeconfig"]["secret"]["secretName"] == "vc-billing-netpol-syncer"
    assert volumes["netpol-syncer-kubeconfig"]["secret"]["items"] == [
        {"key": "kubeconfig", "path": "kubeconfig"}
    ]
