"""A whole vcluster.yaml loads: other blocks are listed as ignored, multi-namespace is flagged."""

from __future__ import annotations

import textwrap

import pytest

from syncer.configuration import config

WHOLE = textwrap.dedent(
    """\
    exportKubeConfig:
      server: https://vc.example.com
    sync:
      toHost:
        pods:
          enabled: true
        networkPolicies:
          enabled: true
        namespaces:
          enabled: true
      fromHost:
        nodes: {enabled: true}
    controlPlane:
      distro: {k8s: {enabled: true}}
    """
)


def test_other_blocks_are_listed_as_ignored_in_file_order_with_their_key_line() -> None:
    """Each block outside sync.toHost.networkPolicies is named once, at the line of its key."""
    sync = config.loads(WHOLE, source="vcluster.yaml")
    assert [(p.line, p.path) for p in sync.ignored] == [
        (1, "exportKubeConfig"),
        (5, "sync.toHost.pods"),
        (11, "sync.fromHost"),
        (13, "controlPlane"),
    ]
    assert all(p.message.startswith("ignored: ") for p in sync.ignored)


def test_multi_namespace_mode_is_unsupported_but_run_still_starts() -> None:
    """run gets a warning (it starts, serves health and logs why it enforces nothing); the same
    finding is kept as unsupported for check-config, which fails on it."""
    sync = config.loads(WHOLE, source="vcluster.yaml")
    assert [(p.line, p.path) for p in sync.unsupported] == [(10, "sync.toHost.namespaces.enabled")]
    assert "multi-namespace mode is not supported" in sync.unsupported[0].message
    assert str(sync.unsupported[0]) in sync.warnings


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sync: {toHost: {namespaces: {enabled: false}}}\n", id="off"),
        pytest.param("sync: {toHost: {namespaces: {}}}\n", id="empty"),
        pytest.param("sync: {toHost: {namespaces: {enabled: 'true'}}}\n", id="string"),
    ],
)
def test_multi_namespace_mode_counts_only_when_enabled(text: str) -> None:
    """Anything but ``enabled: true`` leaves single-namespace mode, which is supported."""
    sync = config.loads(text)
    assert sync.unsupported == ()
    assert sync.warnings == ()
    assert [p.path for p in sync.ignored] == ["sync.toHost.namespaces"]


def test_vcluster_isolation_policies_get_a_note_of_their_effect() -> None:
    """policies.networkPolicy enabled is pointed out: it allows all traffic among the pods."""
    sync = config.loads("policies:\n  networkPolicy:\n    enabled: true\n")
    assert [(p.line, p.path) for p in sync.ignored] == [(2, "policies.networkPolicy")]
    assert "has no effect on the host" in sync.ignored[0].message


def test_a_refused_file_still_explains_the_rest() -> None:
    """ConfigError carries the ignored blocks and unsupported settings besides the problems."""
    with pytest.raises(config.ConfigError) as raised:
        config.loads(
            WHOLE.replace(
                "      enabled: true\n    namespaces",
                "      patches: [{path: metadata.labels.a, expression: '\"b\"'}]\n    namespaces",
            )
        )
    error = raised.value
    assert [p.path for p in error.problems] == ["sync.toHost.networkPolicies.patches[0]"]
    assert "RFC 6902 equivalent: {op: add, path: /metadata/labels/a" in error.problems[0].message
    assert [p.path for p in error.ignored][:2] == ["exportKubeConfig", "sync.toHost.pods"]
    assert [p.path for p in error.unsupported] == ["sync.toHost.namespaces.enabled"]
