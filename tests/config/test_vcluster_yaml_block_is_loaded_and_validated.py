"""Only sync.toHost.networkPolicies is read from vcluster.yaml; problems name line and path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import patches
from syncer.configuration import config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vcluster.yaml"


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty-file"),
        pytest.param("# only a comment\n", id="comment-only"),
        pytest.param("controlPlane: {distro: {k8s: {enabled: true}}}\n", id="no-sync"),
        pytest.param("sync:\n", id="null-sync"),
        pytest.param("sync: {toHost: {pods: {enabled: true}}}\n", id="no-network-policies"),
        pytest.param("sync: {toHost: {networkPolicies: {}}}\n", id="empty-block"),
        pytest.param("sync: {toHost: {networkPolicies: {patches: null}}}\n", id="null-patches"),
        pytest.param("sync: {toHost: {networkPolicies: {patches: []}}}\n", id="empty-patches"),
        pytest.param("sync: {toHost: {networkPolicies: {enabled: null}}}\n", id="null-enabled"),
    ],
)
def test_absent_settings_mean_enabled_without_patches(text: str) -> None:
    """Missing blocks, keys or nulls fall back to the defaults: enabled, no patches."""
    sync = config.loads(text, source="vcluster.yaml")
    assert sync.enabled is True
    assert len(sync.patches) == 0
    assert sync.source == "vcluster.yaml"
    assert sync.warnings == ()


def test_the_block_is_read_and_everything_else_ignored() -> None:
    """enabled and the patches come from the block; other vCluster settings do not matter."""
    sync = config.loads(
        _yaml(
            """
            controlPlane:
              statefulSet: {resources: {limits: {memory: 2Gi}}}
            sync:
              toHost:
                pods: {enabled: true, patches: [{path: metadata.name, expression: x}]}
                networkPolicies:
                  enabled: false
                  patches:
                    - op: add
                      path: /metadata/labels/team
                      value: payments
            """
        )
    )
    assert sync.enabled is False
    assert sync.patches == patches.parse(
        [{"op": "add", "path": "/metadata/labels/team", "value": "payments"}]
    )
    assert sync.summary() == ("sync.toHost.networkPolicies: disabled, 1 patch (from <config>)")


def test_the_example_config_loads_with_its_patches() -> None:
    """examples/vcluster.yaml is valid and enables sync with three patches."""
    sync = config.load(EXAMPLE)
    assert sync.enabled is True
    assert [patches.describe(op) for op in sync.patches.operations] == [
        "add /metadata/labels/team",
        "add /metadata/labels/cost-center",
        "add /metadata/annotations/platform.example.com~1owner",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "- a\n- b\n",
            ["<config>:1: (document root): expected a mapping, got a list"],
            id="root-list",
        ),
        pytest.param(
            "sync: [1]\n", ["<config>:1: sync: expected a mapping, got a list"], id="sync-list"
        ),
        pytest.param(
            "sync: {toHost: yes}\n",
            ["<config>:1: sync.toHost: expected a mapping, got bool True"],
            id="to-host-bool",
        ),
        pytest.param(
            "sync:\n  toHost:\n    networkPolicies: on\n",
            ["<config>:3: sync.toHost.networkPolicies: expected a mapping, got bool True"],
            id="block-scalar",
        ),
        pytest.param(
            "sync:\n  toHost:\n    networkPolicies:\n      enabled: 'true'\n",
            [
                "<config>:4: sync.toHost.networkPolicies.enabled: expected true or false,"
                " got the string 'true'"
            ],
            id="enabled-quoted",
        ),
        pytest.param(
            "sync:\n  toHost:\n    networkPolicies:\n      patches: {op: add}\n",
            [
                "<config>:4: sync.toHost.networkPolicies.patches: must be a list of RFC 6902"
                " operations, got a mapping"
            ],
            id="patches-mapping",
        ),
    ],
)
def test_wrong_shapes_are_reported_with_line_and_path(text: str, expected: list[str]) -> None:
    """A block of the wrong type is named by its YAML path and line."""
    with pytest.raises(config.ConfigError) as raised:
        config.loads(text)
    assert str(raised.value).splitlines() == expected


def test_every_patch_problem_is_listed_with_its_yaml_path_and_line() -> None:
    """Each bad entry is reported at sync.toHost.networkPolicies.patches[i].field and its line."""
    text = _yaml(
        """
        sync:
          toHost:
            networkPolicies:
              enabled: true
              patches:
                - op: add
                  path: /metadata/labels/team
                  value: payments
                - op: ad
                  path: /metadata/labels/x
                - path: metadata.labels.tier
                  expression: '"frontend"'
                - op: copy
                  path: /metadata/labels/y
                - op: add
                  path: /metadata/labels/since
                  value: 2024-01-01
        """
    )
    with pytest.raises(config.ConfigError) as raised:
        config.loads(text, source="vcluster.yaml")
    base = "sync.toHost.networkPolicies.patches"
    assert [(p.line, p.path) for p in raised.value.problems] == [
        (9, f"{base}[1].op"),
        (11, f"{base}[2]"),
        (13, f"{base}[3].from"),  # on the line of the entry that lacks it
        (17, f"{base}[4].value"),
    ]
    messages = str(raised.value).splitlines()
    assert messages[0] == (
        f"vcluster.yaml:9: {base}[1].op: unknown op 'ad'; expected one of add, remove, replace,"
        " move, copy, test"
    )
    assert "only RFC 6902 operations are" in messages[1]
    assert messages[2].startswith(f"vcluster.yaml:13: {base}[3].from: missing")
    assert "quote it in YAML" in messages[3]


def test_unknown_keys_in_the_block_are_warnings_not_errors() -> None:
    """A key this syncer does not read (maybe a newer vCluster's) is ignored with a warning."""
    sync = config.loads("sync: {toHost: {networkPolicies: {enabled: true, selector: {}}}}\n")
    assert sync.warnings == (
        "sync.toHost.networkPolicies.selector: ignored (this syncer reads only enabled and"
        " patches)",
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("sync: [\n", "<config>:2: not valid YAML", id="unclosed-flow"),
        pytest.param("a: b\n---\nc: d\n", "not valid YAML: expected a single document", id="multi"),
        pytest.param("a: b\n  c: d\n", "<config>:2: not valid YAML", id="bad-indent"),
    ],
)
def test_unparseable_yaml_is_reported_with_its_line(text: str, fragment: str) -> None:
    """YAML syntax errors name the line the parser stopped at."""
    with pytest.raises(config.ConfigError) as raised:
        config.loads(text)
    assert fragment in str(raised.value)


def test_a_missing_file_is_an_error_unless_allowed(tmp_path: Path) -> None:
    """An explicit path must exist; the default path may be absent and then means defaults."""
    missing = tmp_path / "vcluster.yaml"
    with pytest.raises(config.ConfigError) as raised:
        config.load(missing)
    assert str(raised.value) == f"{missing}: no such file"
    sync = config.load(missing, missing_ok=True)
    assert (sync.enabled, len(sync.patches), sync.source) == (True, 0, None)
    assert sync.summary().endswith("(defaults: no config file)")


def test_an_unreadable_path_is_an_error(tmp_path: Path) -> None:
    """A directory (or any other unreadable path) is reported, not raised as an OSError."""
    with pytest.raises(config.ConfigError) as raised:
        config.load(tmp_path, missing_ok=True)
    assert str(raised.value).startswith(f"{tmp_path}: cannot read")
