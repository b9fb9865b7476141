"""`helm lint` passes and the chart renders (installs) with defaults and in every mode."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from tests.chart.conftest import Render
from tests.chart.helm import CHART, REPO, Helm

HELM_SEVERITIES = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}

ALL_MONITORING = {
    "metrics": {"serviceMonitor": {"enabled": True}},
    "prometheusRule": {"enabled": True},
    "dashboard": {"enabled": True},
}


def test_helm_lint_reports_no_warning_or_error(helm: Helm, kubeconfig: Path) -> None:
    """Helm's linter (templates rendered with the default values, schema checked) is clean."""
    report = helm.lint(kubeconfig)
    assert report["TotalChartsLinted"] == 1
    serious = [
        f"{HELM_SEVERITIES.get(m['Severity'], m['Severity'])} in {m['Path']}"
        for m in report["Messages"] or []
        if m["Severity"] >= 2
    ]
    # helm-sdkpy drops the messages' text; run `helm lint charts/netpol-syncer` to read it.
    assert not serious, serious
    assert not report["Errors"]


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        pytest.param(
            None,
            ["ConfigMap", "ConfigMap", "Role", "RoleBinding", "Service"],
            id="defaults",
        ),
        pytest.param(
            {"mode": "sidecar", **ALL_MONITORING},
            [
                "ConfigMap",
                "ConfigMap",
                "ConfigMap",
                "PrometheusRule",
                "Role",
                "RoleBinding",
                "Service",
                "ServiceMonitor",
            ],
            id="sidecar-with-monitoring",
        ),
        pytest.param(
            {"mode": "standalone"},
            ["ConfigMap", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"],
            id="standalone",
        ),
        pytest.param(
            {"mode": "standalone", "standalone": {"replicas": 3}, **ALL_MONITORING},
            [
                "ConfigMap",
                "ConfigMap",
                "Deployment",
                "PodDisruptionBudget",
                "PrometheusRule",
                "Role",
                "RoleBinding",
                "Service",
                "ServiceAccount",
                "ServiceMonitor",
            ],
            id="standalone-ha-with-monitoring",
        ),
    ],
)
def test_each_mode_renders_its_objects(
    render: Render, values: dict[str, object] | None, kinds: list[str]
) -> None:
    """Installing renders exactly the kinds each mode needs, all in the release namespace."""
    release = render(values)
    assert release.status == "deployed"
    assert release.kinds() == kinds
    for obj in release.objects:
        if not (obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-dashboard")):
            assert obj["metadata"]["namespace"] == release.namespace, obj["metadata"]


def test_names_follow_the_vcluster(render: Render) -> None:
    """Objects are named <vcluster>-netpol-syncer, and the release name is the default vCluster."""
    release = render({"vcluster": {"name": "tenant-a"}}, release="syncer")
    assert {o["metadata"]["name"] for o in release.all("Role")} == {"tenant-a-netpol-syncer"}
    assert "vcluster.loft.sh/managed-by=tenant-a" in release.notes
    default = render()
    assert {o["metadata"]["name"] for o in default.all("Role")} == {"shop-netpol-syncer"}
    assert "taken from this release's name" in default.notes


def test_app_version_is_the_package_version() -> None:
    """Chart.yaml's appVersion (the default image tag) is the version in pyproject.toml."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == project["version"]
