"""values.schema.json refuses values the syncer or the chart cannot use, before anything exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chart.cluster import ClusterThread
from tests.chart.helm import Helm, HelmError

BAD_VALUES = [
    pytest.param({"mode": "daemonset"}, "/mode", id="unknown-mode"),
    pytest.param({"replicas": 2}, "additional properties 'replicas'", id="unknown-top-level-key"),
    pytest.param(
        {"vcluster": {"nmae": "shop"}}, "additional properties 'nmae'", id="typo-in-a-key"
    ),
    pytest.param({"vcluster": {"name": "Shop_1"}}, "/vcluster/name", id="name-not-a-dns-label"),
    pytest.param({"controller": {"logFormat": "xml"}}, "/controller/logFormat", id="log-format"),
    pytest.param({"controller": {"logLevel": "trace"}}, "/controller/logLevel", id="log-level"),
    pytest.param({"controller": {"workers": 0}}, "/controller/workers", id="no-workers"),
    pytest.param(
        {"controller": {"resyncPeriod": "5 minutes"}}, "/controller/resyncPeriod", id="duration"
    ),
    pytest.param({"image": {"tag": "latest"}}, "/image/tag", id="latest-tag"),
    pytest.param({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy", id="pull-policy"),
    pytest.param(
        {"leaderElection": {"enabled": "yes"}}, "/leaderElection/enabled", id="leader-enabled"
    ),
    pytest.param({"standalone": {"replicas": 0}}, "/standalone/replicas", id="zero-replicas"),
    pytest.param({"metrics": {"port": 70000}}, "/metrics/port", id="port-range"),
    pytest.param(
        {"controller": {"shutdownGracePeriodSeconds": 11}},
        "/controller/shutdownGracePeriodSeconds",
        id="drain-longer-than-vcluster-grace-allows",
    ),
    pytest.param(
        {"sync": {"patches": [{"op": "ad", "path": "/metadata/labels/a", "value": "b"}]}},
        "/sync/patches/0/op",
        id="unknown-patch-op",
    ),
    pytest.param(
        {"sync": {"patches": [{"op": "add", "path": "/metadata/labels/a"}]}},
        "missing property 'value'",
        id="patch-without-value",
    ),
    pytest.param(
        {"sync": {"patches": [{"op": "move", "path": "/metadata/labels/a"}]}},
        "missing property 'from'",
        id="move-without-from",
    ),
    pytest.param(
        {"sync": {"patches": [{"op": "add", "path": "metadata/labels/a", "value": "b"}]}},
        "/sync/patches/0/path",
        id="pointer-without-slash",
    ),
    pytest.param(
        {"sync": {"patches": [{"path": "metadata.labels.a", "expression": "'b'"}]}},
        "additional properties 'expression'",
        id="vcluster-expression-patch",
    ),
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES)
def test_bad_values_are_refused_with_the_offending_path(
    helm: Helm,
    cluster: ClusterThread,
    kubeconfig: Path,
    fresh_namespace: Any,
    values: dict[str, Any],
    message: str,
) -> None:
    """Helm's schema check names the bad value, and the cluster is left untouched."""
    namespace = fresh_namespace("rejected")
    with pytest.raises(HelmError) as refused:
        helm.install("shop", namespace=namespace, kubeconfig=kubeconfig, values=values)
    assert "don't meet the specifications of the schema" in refused.value.message
    assert message in refused.value.message
    assert cluster.find("namespaces", None, namespace) is None
