"""``netpol-syncer check-config`` accepts exactly what ``run`` accepts, and says why not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncer.configuration import config
from tests.cli.invoke import EXAMPLE_CONFIG, netpol_syncer


def test_a_valid_config_prints_a_one_line_summary() -> None:
    """Exit 0 and one line: enabled or not, and how many patches, from which file."""
    done = netpol_syncer("check-config", "--config", str(EXAMPLE_CONFIG))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"ok: sync.toHost.networkPolicies: enabled, 3 patches (from {EXAMPLE_CONFIG})\n"
    )


def test_every_problem_is_listed_and_the_exit_code_is_2(tmp_path: Path) -> None:
    """Each problem is one line with file, line and YAML path, then a count."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        "sync:\n"
        "  toHost:\n"
        "    networkPolicies:\n"
        "      enabled: sometimes\n"
        "      patches:\n"
        "        - {op: add, path: /metadata/labels/team, value: a}\n"
        "        - {op: ad, path: /x}\n"
        "        - {path: metadata.labels.x, expression: y}\n"
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 2
    assert done.stdout == ""
    base = "sync.toHost.networkPolicies"
    assert done.stderr.splitlines() == [
        f"error: {cfg}:4: {base}.enabled: expected true or false, got the string 'sometimes'",
        f"error: {cfg}:7: {base}.patches[1].op: unknown op 'ad'; expected one of add, remove,"
        " replace, move, copy, test",
        f"error: {cfg}:8: {base}.patches[2]: vCluster's own patch syntax (path + expression)"
        " is not supported, only RFC 6902 operations are; no RFC 6902 equivalent: the"
        " expression computes the value with JavaScript; RFC 6902 sets constants only",
        f"{cfg}: 3 problems",
    ]


def test_a_missing_named_file_is_an_error(tmp_path: Path) -> None:
    """A file named by --config or NETPOL_SYNCER_CONFIG must exist."""
    missing = tmp_path / "nope.yaml"
    by_flag = netpol_syncer("check-config", "--config", str(missing))
    by_env = netpol_syncer("check-config", env={"NETPOL_SYNCER_CONFIG": str(missing)})
    for done in (by_flag, by_env):
        assert done.returncode == 2
        assert done.stderr.splitlines()[0] == f"error: {missing}: no such file"


def test_the_environment_names_the_file_when_the_flag_does_not(tmp_path: Path) -> None:
    """NETPOL_SYNCER_CONFIG is read like run reads it; the flag wins over it."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text("sync: {toHost: {networkPolicies: {enabled: false}}}\n")
    by_env = netpol_syncer("check-config", env={"NETPOL_SYNCER_CONFIG": str(cfg)})
    assert by_env.stdout == f"ok: sync.toHost.networkPolicies: disabled, 0 patches (from {cfg})\n"
    flag_wins = netpol_syncer(
        "check-config", "--config", str(EXAMPLE_CONFIG), env={"NETPOL_SYNCER_CONFIG": str(cfg)}
    )
    assert "enabled, 3 patches" in flag_wins.stdout


@pytest.mark.skipif(
    os.path.exists(config.DEFAULT_PATH), reason="this machine has a vCluster config"
)
def test_an_absent_default_file_means_the_defaults() -> None:
    """Like run, check-config treats a missing default path as "enabled, no patches"."""
    done = netpol_syncer("check-config")
    assert done.returncode == 0
    assert done.stdout == (
        f"ok: no file at {config.DEFAULT_PATH}, so the defaults apply:"
        " sync.toHost.networkPolicies: enabled, 0 patches (defaults: no config file)\n"
    )


def test_patches_that_break_the_scope_of_a_typical_policy_are_warned_about(tmp_path: Path) -> None:
    """A valid list that would be refused for a sample policy passes with a warning on stderr."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        "sync: {toHost: {networkPolicies: {patches: ["
        "{op: add, path: /metadata/labels/team, value: a},"
        " {op: replace, path: /metadata/name, value: fixed}]}}}\n"
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 0
    assert done.stdout.startswith("ok: ")
    assert done.stderr.startswith(
        f"warning: {cfg}: on a sample policy, patch entry 1 breaks the scoping invariants"
        " (/metadata/name must stay 'sample-x-sample-x-sample')"
    )


def test_patches_that_widen_a_typical_policy_are_warned_about(tmp_path: Path) -> None:
    """A valid list that would widen a sample policy passes with a warning naming the entry."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        "sync: {toHost: {networkPolicies: {patches: [{op: remove, path: /spec/ingress/0/from}]}}}\n"
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 0
    assert done.stderr.startswith(
        f"warning: {cfg}: on a sample policy, patch entry 0 widens the policy"
        " (/spec/ingress/0 allows any source on any port, which no unpatched ingress rule"
        " allows); the syncer would refuse every object where it does the same"
    )


def test_unknown_keys_in_the_block_are_warnings(tmp_path: Path) -> None:
    """Keys this syncer does not read do not fail the check but are pointed out."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text("sync: {toHost: {networkPolicies: {enabled: true, enable: false}}}\n")
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 0
    assert done.stderr == (
        f"warning: {cfg}: sync.toHost.networkPolicies.enable: ignored (this syncer reads only"
        " enabled and patches)\n"
    )
