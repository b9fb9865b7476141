"""`netpol-syncer run` accepts the arguments, environment and files the chart gives it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from syncer.commands import cli
from syncer.configuration import config, flags, resolving
from tests.chart.conftest import Render
from tests.chart.helm import Release
from tests.chart.manifests import containers, volumes

TUNED: dict[str, Any] = {
    "mode": "standalone",
    "standalone": {"replicas": 2},
    "controller": {
        "workers": 8,
        "resyncPeriod": "0",
        "logFormat": "console",
        "logLevel": "debug",
        "extraArgs": ["--host-qps=50", "--host-burst=100"],
        "extraEnv": [{"name": "NETPOL_SYNCER_VIRTUAL_QPS", "value": "30"}],
    },
    "sync": {"patches": [{"op": "add", "path": "/metadata/labels/a", "value": "b"}]},
}

MODES = [
    pytest.param({}, id="sidecar"),
    pytest.param({"vcluster": {"replicas": 2}}, id="sidecar-ha"),
    pytest.param({"mode": "standalone"}, id="standalone"),
    pytest.param(TUNED, id="standalone-tuned"),
]

POD_NAMESPACE = "vcluster-shop"


def mounted_file(
    release: Release, container: dict[str, Any], path: str
) -> tuple[dict[str, Any], str]:
    """The volume and the key inside it that provide the file ``path`` in ``container``."""
    target = PurePosixPath(path)
    (mount,) = [
        m for m in container["volumeMounts"] if PurePosixPath(m["mountPath"]) == target.parent
    ]
    (volume,) = [v for v in volumes(release) if v["name"] == mount["name"]]
    return volume, target.name


@pytest.mark.parametrize("values", MODES)
def test_the_arguments_resolve_to_settings(
    render: Render, values: dict[str, Any], tmp_path: Path
) -> None:
    """The CLI parses the args, and resolving.resolve accepts them with the mounted files."""
    release = render(values)
    for _, container in containers(release):
        args = cli.build_parser().parse_args(container["args"])
        assert args.command == "run"
        given = {opt.setting: getattr(args, opt.setting) for opt in flags.OPTIONS}

        # The config sits at the default --config path (absent means the defaults, so the flag
        # is not passed); --virtual-kubeconfig names a file inside the mounted Secret.
        assert given["config_path"] is None
        config_volume, config_key = mounted_file(release, container, config.DEFAULT_PATH)
        assert config_volume["configMap"]["optional"] is True
        configmap = release.one("ConfigMap", config_volume["configMap"]["name"])
        local_config = tmp_path / "config.yaml"
        local_config.write_text(configmap["data"][config_key])
        kube_volume, kube_key = mounted_file(release, container, given["virtual_kubeconfig"])
        assert kube_volume["secret"]["items"] == [{"key": kube_key, "path": kube_key}]
        local_kubeconfig = tmp_path / "kubeconfig"
        local_kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
        given["config_path"] = str(local_config)
        given["virtual_kubeconfig"] = str(local_kubeconfig)

        environ = {}
        for env in container["env"]:
            if "valueFrom" in env:
                assert env["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
                environ[env["name"]] = POD_NAMESPACE
            else:
                environ[env["name"]] = env["value"]
        known_env = {opt.env for opt in flags.OPTIONS}
        assert set(environ) <= known_env, set(environ) - known_env

        resolved = resolving.resolve(given, environ=environ, namespace_file=tmp_path / "absent")
        assert resolved.name == "shop"
        assert resolved.host_namespace == POD_NAMESPACE
        assert resolved.metrics_address == ":9810"
        assert resolved.shutdown_grace == 2.5
        assert resolved.leader_elect == ("--leader-elect=true" in container["args"])
        assert resolved.leader_elect_resource_name == "shop-netpol-syncer"
        assert resolved.leader_elect_resource_namespace == POD_NAMESPACE
        assert resolved.host_kubeconfig is None  # in-cluster: the pod's service account


def test_tuned_controller_values_reach_the_settings(render: Render, tmp_path: Path) -> None:
    """workers, resync period, logging, extra flags and extra env all arrive."""
    release = render(TUNED)
    (_, container) = containers(release)[0]
    args = cli.build_parser().parse_args(container["args"])
    assert args.workers == "8"
    assert args.resync_period == "0"
    assert args.log_format == "console"
    assert args.log_level == "debug"
    assert args.host_qps == "50"
    assert args.host_burst == "100"
    assert {"name": "NETPOL_SYNCER_VIRTUAL_QPS", "value": "30"} in container["env"]
