"""Installing, upgrading and uninstalling the chart with Helm, in each mode, against kubesim and
against a real kube-apiserver + etcd (the ``cluster`` fixture below, once per backend)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chart.cluster import ClusterThread, RealCluster
from tests.chart.helm import Helm
from tests.chart.manifests import HARDENED_CONTAINER, minimal_rules
from tests.support import backends

MONITORING = {
    "metrics": {"serviceMonitor": {"enabled": True}},
    "prometheusRule": {"enabled": True},
    "dashboard": {"enabled": True},
}
NAMESPACED = (
    "configmaps",
    "serviceaccounts",
    "services",
    "roles",
    "rolebindings",
    "deployments",
    "poddisruptionbudgets",
    "servicemonitors",
    "prometheusrules",
)


@pytest.fixture(scope="module", params=backends.params())
def cluster(request: pytest.FixtureRequest) -> Any:
    """The API server Helm installs into: the session's kubesim, or a real one."""
    if request.param == backends.KUBESIM:
        return request.getfixturevalue("kubesim_cluster")
    return RealCluster(backends.real_env("chart"))


@pytest.fixture(scope="module")
def kubeconfig(cluster: Any) -> Path:
    return Path(cluster.kubeconfig)


def chart_objects(cluster: ClusterThread, namespace: str) -> dict[str, list[str]]:
    """Names of the objects Helm manages in ``namespace``, by resource."""
    found: dict[str, list[str]] = {}
    for resource in NAMESPACED:
        names = sorted(
            o["metadata"]["name"]
            for o in cluster.list(resource, namespace)
            if o["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "Helm"
        )
        if names:
            found[resource] = names
    return found


def stored_release(cluster: ClusterThread, namespace: str, name: str, revision: int) -> Any:
    """Helm's record of the release (a Secret holding gzipped, base64-encoded JSON)."""
    secret = cluster.find("secrets", namespace, f"sh.helm.release.v1.{name}.v{revision}")
    assert secret is not None, f"Helm stored no revision {revision} of {name}"
    assert secret["type"] == "helm.sh/release.v1"
    raw = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    return json.loads(gzip.decompress(raw))


def test_sidecar_mode_installs_rbac_config_and_monitoring(
    helm: Helm, cluster: ClusterThread, kubeconfig: Path, fresh_namespace: Callable[[str], str]
) -> None:
    """Sidecar mode lands the Role, binding, ConfigMaps, Service and monitoring objects."""
    namespace = fresh_namespace("vcluster-shop")
    helm.install("shop", namespace=namespace, kubeconfig=kubeconfig, values=MONITORING)

    assert chart_objects(cluster, namespace) == {
        "configmaps": [
            "shop-netpol-syncer",
            "shop-netpol-syncer-dashboard",
            "shop-netpol-syncer-sidecar",
        ],
        "services": ["shop-netpol-syncer-metrics"],
        "roles": ["shop-netpol-syncer"],
        "rolebindings": ["shop-netpol-syncer"],
        "servicemonitors": ["shop-netpol-syncer"],
        "prometheusrules": ["shop-netpol-syncer"],
    }
    role = cluster.find("roles", namespace, "shop-netpol-syncer")
    assert role is not None
    assert role["rules"] == minimal_rules("shop-netpol-syncer")
    assert role["metadata"]["annotations"]["meta.helm.sh/release-name"] == "shop"
    assert role["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == namespace
    binding = cluster.find("rolebindings", namespace, "shop-netpol-syncer")
    assert binding is not None
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "vc-shop", "namespace": namespace}
    ]
    service = cluster.find("services", namespace, "shop-netpol-syncer-metrics")
    assert service is not None
    assert service["spec"]["selector"] == {"app": "vcluster", "release": "shop"}
    assert stored_release(cluster, namespace, "shop", 1)["info"]["status"] == "deployed"


def test_standalone_mode_installs_a_hardened_deployment(
    helm: Helm, cluster: ClusterThread, kubeconfig: Path, fresh_namespace: Callable[[str], str]
) -> None:
    """Standalone mode lands a ServiceAccount and a Deployment that reads the dedicated
    kubeconfig Secret vc-<name>-netpol-syncer."""
    namespace = fresh_namespace("vcluster-shop")
    helm.install("shop", namespace=namespace, kubeconfig=kubeconfig, values={"mode": "standalone"})

    assert chart_objects(cluster, namespace) == {
        "configmaps": ["shop-netpol-syncer"],
        "serviceaccounts": ["shop-netpol-syncer"],
        "services": ["shop-netpol-syncer-metrics"],
        "roles": ["shop-netpol-syncer"],
        "rolebindings": ["shop-netpol-syncer"],
        "deployments": ["shop-netpol-syncer"],
    }
    deployment = cluster.find("deployments", namespace, "shop-netpol-syncer")
    assert deployment is not None
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"] == HARDENED_CONTAINER
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["serviceAccountName"] == "shop-netpol-syncer"
    secrets = [v["secret"] for v in pod["volumes"] if "secret" in v]
    assert [s["secretName"] for s in secrets] == ["vc-shop-netpol-syncer"]
    assert "optional" not in secrets[0]  # standalone cannot work without it: wait for it
    assert "--leader-elect=true" in container["args"]  # a rollout runs two pods at once
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_standalone_upgrade_to_ha_adds_leader_election_and_a_pdb(
    helm: Helm, cluster: ClusterThread, kubeconfig: Path, fresh_namespace: Callable[[str], str]
) -> None:
    """Scaling to 2 replicas keeps leader election on and creates a PDB; scaling back removes
    the PDB."""
    namespace = fresh_namespace("vcluster-shop")
    standalone: dict[str, Any] = {"mode": "standalone"}
    helm.install("shop", namespace=namespace, kubeconfig=kubeconfig, values=standalone)
    assert cluster.find("poddisruptionbudgets", namespace, "shop-netpol-syncer") is None

    ha = {**standalone, "standalone": {"replicas": 2}}
    upgraded = helm.upgrade("shop", namespace=namespace, kubeconfig=kubeconfig, values=ha)
    assert upgraded.revision == 2
    pdb = cluster.find("poddisruptionbudgets", namespace, "shop-netpol-syncer")
    assert pdb is not None
    assert pdb["spec"]["minAvailable"] == 1
    deployment = cluster.find("deployments", namespace, "shop-netpol-syncer")
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 2
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--leader-elect=true" in args
    assert "--leader-elect-resource-name=shop-netpol-syncer" in args

    helm.upgrade("shop", namespace=namespace, kubeconfig=kubeconfig, values=standalone)
    assert cluster.find("poddisruptionbudgets", namespace, "shop-netpol-syncer") is None
    assert stored_release(cluster, namespace, "shop", 3)["info"]["status"] == "deployed"


def test_uninstall_removes_everything_the_chart_created(
    helm: Helm, cluster: ClusterThread, kubeconfig: Path, fresh_namespace: Callable[[str], str]
) -> None:
    """After `helm uninstall` nothing of the chart is left in the namespace."""
    namespace = fresh_namespace("vcluster-shop")
    values = {"mode": "standalone", "standalone": {"replicas": 2}, **MONITORING}
    helm.install("shop", namespace=namespace, kubeconfig=kubeconfig, values=values)
    assert len(chart_objects(cluster, namespace)) == 9

    helm.uninstall("shop", namespace=namespace, kubeconfig=kubeconfig)
    assert chart_objects(cluster, namespace) == {}
    assert cluster.find("secrets", namespace, "sh.helm.release.v1.shop.v1") is None
