"""``netpol-syncer run`` validates every setting before starting and exits 2 listing them all."""

from __future__ import annotations

from pathlib import Path

from tests.cli.invoke import netpol_syncer


def test_missing_required_settings_are_all_named() -> None:
    """Without name, host namespace and virtual kubeconfig, run says how to give each."""
    done = netpol_syncer("run", "--config", "/dev/null")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "netpol-syncer run: invalid settings:",
        "  --name (or NETPOL_SYNCER_NAME, or VCLUSTER_NAME) is required",
        "  --host-namespace is required outside a pod (or NETPOL_SYNCER_HOST_NAMESPACE, or"
        " POD_NAMESPACE)",
        "  --virtual-kubeconfig (or NETPOL_SYNCER_VIRTUAL_KUBECONFIG) is required: the kubeconfig"
        " of the virtual cluster's API server",
    ]


def test_bad_values_from_flags_and_environment_are_named_by_source(tmp_path: Path) -> None:
    """A bad flag names the flag, a bad variable names the variable; a bad config its path."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text("sync: {toHost: {networkPolicies: {patches: [{op: add, path: /x}]}}}\n")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    done = netpol_syncer(
        "run",
        "--config",
        str(cfg),
        "--name",
        "vc1",
        "--virtual-kubeconfig",
        str(kubeconfig),
        "--log-format",
        "xml",
        env={"NETPOL_SYNCER_WORKERS": "-3", "POD_NAMESPACE": "team-a"},
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[1:] == [
        "  environment variable NETPOL_SYNCER_WORKERS: '-3' must be at least 1",
        "  --log-format: 'xml' is not one of json, console",
        f"  --config: {cfg}:1: sync.toHost.networkPolicies.patches[0].value: missing; 'add'"
        " needs a value",
    ]
