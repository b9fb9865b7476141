"""The syncer's ConfigMap holds sync.toHost.networkPolicies exactly as configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from syncer.configuration import config
from tests.chart.conftest import Render
from tests.chart.helm import REPO, Release

EXAMPLE_VCLUSTER_YAML = REPO / "examples" / "vcluster.yaml"

PATCHES: list[dict[str, Any]] = [
    {"op": "add", "path": "/metadata/labels/team", "value": "shop"},
    {"op": "add", "path": "/metadata/labels/cost-center", "value": "4711"},
    {"op": "add", "path": "/metadata/annotations/platform.example.com~1owner", "value": "a@b.c"},
    {"op": "test", "path": "/metadata/labels/team", "value": "shop"},
    {"op": "copy", "from": "/metadata/labels/team", "path": "/metadata/labels/owner"},
    {"op": "remove", "path": "/metadata/labels/owner"},
]


def config_text(release: Release) -> str:
    configmap = release.one("ConfigMap", f"{release.name}-netpol-syncer")
    text = configmap["data"]["config.yaml"]
    assert isinstance(text, str)
    return text


def block(release: Release) -> Any:
    return yaml.safe_load(config_text(release))["sync"]["toHost"]["networkPolicies"]


def test_defaults_enable_sync_without_patches(render: Render) -> None:
    """No values: enabled, an empty patch list."""
    assert block(render()) == {"enabled": True, "patches": []}


def test_patches_are_carried_verbatim_and_in_order(render: Render) -> None:
    """Every operation, value type and escaped pointer survives templating unchanged."""
    assert block(render({"sync": {"patches": PATCHES}})) == {"enabled": True, "patches": PATCHES}


def test_the_syncer_accepts_the_rendered_file(render: Render, tmp_path: Path) -> None:
    """syncer.configuration.config.load (what `run --config` does) validates the rendered file."""
    path = tmp_path / "config.yaml"
    path.write_text(config_text(render({"sync": {"patches": PATCHES}})))
    loaded = config.load(path)
    assert loaded.enabled is True
    assert len(loaded.patches) == len(PATCHES)
    assert not loaded.warnings


def test_disabled_sync_reaches_the_syncer(render: Render, tmp_path: Path) -> None:
    """sync.enabled=false is rendered and read as disabled."""
    path = tmp_path / "config.yaml"
    path.write_text(config_text(render({"sync": {"enabled": False}})))
    assert config.load(path).enabled is False


def test_the_example_vcluster_yaml_patches_fit_the_chart(render: Render) -> None:
    """The patches of examples/vcluster.yaml can be moved into the chart's values as they are."""
    example = yaml.safe_load(EXAMPLE_VCLUSTER_YAML.read_text())
    patches = example["sync"]["toHost"]["networkPolicies"]["patches"]
    assert block(render({"sync": {"patches": patches}}))["patches"] == patches


def test_standalone_pods_roll_when_the_config_changes(render: Render) -> None:
    """The Deployment's pod template carries the config's checksum, so new patches restart it."""

    def checksum(values: dict[str, Any]) -> str:
        deployment = render({"mode": "standalone", **values}).one("Deployment")
        value = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        assert isinstance(value, str)
        return value

    assert checksum({}) != checksum({"sync": {"patches": PATCHES}})
