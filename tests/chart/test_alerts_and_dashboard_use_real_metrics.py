"""The PrometheusRule, the dashboard and the ServiceMonitor match the syncer's real metrics."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from syncer.runtime import metrics
from tests.chart.cluster import ClusterThread
from tests.chart.conftest import Render
from tests.chart.helm import Release

MONITORING = {
    "metrics": {"serviceMonitor": {"enabled": True}},
    "prometheusRule": {"enabled": True},
    "dashboard": {"enabled": True},
}
ALERTS = {
    "NetpolSyncerSyncErrors": "netpol_syncer_errors_total",
    "NetpolSyncerQueueGrowing": "netpol_syncer_queue_depth",
    "NetpolSyncerNoLeader": "netpol_syncer_leader",
    "NetpolSyncerMultipleLeaders": "netpol_syncer_leader",
    "NetpolSyncerWatchRestarts": "netpol_syncer_watch_restarts_total",
    "NetpolSyncerHostCopiesBehind": "netpol_syncer_synced_policies",
}
METRIC_NAME = re.compile(r"\bnetpol_syncer_[a-z0-9_]+\b")


def exposed_names() -> set[str]:
    """Every series name a syncer exposes, derived from its registry's metric families."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in metrics.Metrics().registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names


def rules(release: Release) -> list[dict[str, Any]]:
    (group,) = release.one("PrometheusRule")["spec"]["groups"]
    found = group["rules"]
    assert isinstance(found, list)
    return found


def dashboard(release: Release) -> dict[str, Any]:
    configmap = release.one("ConfigMap", "shop-netpol-syncer-dashboard")
    loaded = json.loads(configmap["data"]["netpol-syncer.json"])
    assert isinstance(loaded, dict)
    return loaded


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_the_metric_names_are_known() -> None:
    """Sanity check of the helper: the registry yields the documented families."""
    names = exposed_names()
    assert {
        "netpol_syncer_leader",
        "netpol_syncer_errors_total",
        "netpol_syncer_queue_depth",
    } <= names
    assert "netpol_syncer_reconcile_duration_seconds_bucket" in names


def test_alerts_cover_the_failure_modes(render: Render) -> None:
    """Sync errors, a growing queue, no leader, split brain, watch restarts, lagging copies."""
    found = {rule["alert"]: rule for rule in rules(render(MONITORING))}
    assert set(found) == set(ALERTS)
    for name, metric in ALERTS.items():
        rule = found[name]
        assert metric in rule["expr"], name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name


def test_alert_expressions_use_only_existing_metrics(render: Render) -> None:
    """Every metric name in an alert expression is one syncer/runtime/metrics registers."""
    names = exposed_names()
    for rule in rules(render(MONITORING)):
        used = set(METRIC_NAME.findall(rule["expr"]))
        assert used, rule["alert"]
        assert used <= names, (rule["alert"], used - names)


def test_alerts_select_this_vcluster(render: Render) -> None:
    """Each expression is scoped to the release namespace and the vCluster's label."""
    release = render(MONITORING)
    selector = f'namespace="{release.namespace}",vcluster="shop"'
    for rule in rules(release):
        for use in re.findall(r"netpol_syncer_[a-z_]+\{([^}]*)\}", rule["expr"]):
            assert use.startswith(selector), (rule["alert"], use)


def test_no_leader_fires_when_the_leader_gauges_sum_to_zero(render: Render) -> None:
    """No leader: the sum of every replica's leader gauge (or nothing scraped) equals 0."""
    release = render(MONITORING)
    (rule,) = [r for r in rules(release) if r["alert"] == "NetpolSyncerNoLeader"]
    selector = f'namespace="{release.namespace}",vcluster="shop"'
    assert rule["expr"].strip() == f"(sum(netpol_syncer_leader{{{selector}}}) or vector(0)) == 0"


def test_prometheus_templates_survive_helm(render: Render) -> None:
    """Alert annotations keep Prometheus' own {{ $labels.x }} placeholders."""
    (rule,) = [r for r in rules(render(MONITORING)) if r["alert"] == "NetpolSyncerSyncErrors"]
    assert "{{ $labels.reason }}" in rule["annotations"]["summary"]


def test_alerts_can_be_switched_off_and_labelled(render: Render) -> None:
    """A disabled alert is left out; alertLabels land on every alert; the selector is settable."""
    release = render(
        {
            "prometheusRule": {
                "enabled": True,
                "noLeader": {"enabled": False, "for": "5m", "severity": "critical"},
                "alertLabels": {"team": "platform"},
                "selector": 'job="netpol"',
            }
        }
    )
    found = {rule["alert"]: rule for rule in rules(release)}
    assert "NetpolSyncerNoLeader" not in found
    for rule in found.values():
        assert rule["labels"]["team"] == "platform"
        assert 'job="netpol"' in rule["expr"]


def test_dashboard_is_a_grafana_sidecar_configmap(render: Render) -> None:
    """The ConfigMap carries the sidecar label and a parseable dashboard with a fixed uid."""
    release = render(MONITORING)
    configmap = release.one("ConfigMap", "shop-netpol-syncer-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = dashboard(release)
    assert board["uid"] == "netpol-syncer"
    assert {v["name"] for v in board["templating"]["list"]} >= {
        "datasource",
        "namespace",
        "vcluster",
    }


def test_dashboard_queries_use_only_existing_metrics(render: Render) -> None:
    """Every metric name in a panel or variable query is one syncer/runtime/metrics registers."""
    names = exposed_names()
    exprs = dashboard_exprs(dashboard(render(MONITORING)))
    used = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    assert used <= names, used - names
    families = {n.removesuffix("_total").removesuffix("_bucket") for n in used}
    for key in ("leader", "errors", "queue_depth", "synced_policies", "watch_restarts"):
        assert f"netpol_syncer_{key}" in families, key


def test_dashboard_label_and_namespace_are_configurable(
    render: Render, cluster: ClusterThread
) -> None:
    """Another Grafana's label and namespace can be chosen."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}
    if cluster.find("namespaces", None, "monitoring") is None:
        cluster.call(lambda store: store.create(namespace))
    release = render(
        {
            "dashboard": {
                "enabled": True,
                "namespace": "monitoring",
                # Helm merges maps: null removes the default label.
                "labels": {"grafana_dashboard": None, "dash": "yes"},
            }
        }
    )
    configmap = release.one("ConfigMap", "shop-netpol-syncer-dashboard")
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["dash"] == "yes"
    assert "grafana_dashboard" not in configmap["metadata"]["labels"]


@pytest.mark.parametrize(
    ("values", "pod_labels"),
    [
        pytest.param({}, {"app": "vcluster", "release": "shop"}, id="sidecar"),
        pytest.param(
            {"mode": "standalone"},
            {"app.kubernetes.io/name": "netpol-syncer", "app.kubernetes.io/instance": "shop"},
            id="standalone",
        ),
    ],
)
def test_the_service_monitor_scrapes_the_metrics_service(
    render: Render, values: dict[str, Any], pod_labels: dict[str, str]
) -> None:
    """ServiceMonitor -> Service (by labels, port "metrics") -> the pods running the syncer."""
    release = render({**values, **MONITORING})
    service = release.one("Service")
    assert service["spec"]["selector"] == pod_labels
    for deployment in release.all("Deployment"):
        assert pod_labels.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    monitor = release.one("ServiceMonitor")
    wanted = monitor["spec"]["selector"]["matchLabels"]
    assert wanted.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [release.namespace]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert {"action": "replace", "targetLabel": "vcluster", "replacement": "shop"} in endpoint[
        "relabelings"
    ]
