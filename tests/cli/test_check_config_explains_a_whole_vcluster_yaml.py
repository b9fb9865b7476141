"""``check-config`` reads a whole vcluster.yaml as users have it and says what would happen."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.cli.invoke import netpol_syncer

BASE = "sync.toHost.networkPolicies"

VCLUSTER_YAML = """\
controlPlane:
  distro:
    k8s:
      enabled: true
policies:
  networkPolicy:
    enabled: true
sync:
  fromHost:
    nodes:
      enabled: true
  toHost:
    pods:
      enabled: true
    networkPolicies:
      enabled: true
      patches:
        - path: metadata.labels.team
          expression: '"shop"'
        - path: metadata.annotations["example.com/owner"]
          expression: "value.toUpperCase()"
        - path: metadata.annotations
          reverseExpression: value
        - path: spec.podSelector
          labels: {}
"""
"""What a user of vCluster's built-in syncer has: its own patch syntax, other blocks around."""


def test_vcluster_patches_are_explained_entry_by_entry(tmp_path: Path) -> None:
    """Each vCluster entry is a problem with its RFC 6902 equivalent or why there is none; every
    other block is a note with its line; the exit code is 2 as run would refuse the list."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(VCLUSTER_YAML)
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 2
    assert done.stdout.splitlines() == [
        f"note: {cfg}:1: controlPlane: ignored: netpol-syncer reads only {BASE}",
        f"note: {cfg}:6: policies.networkPolicy: ignored by netpol-syncer; with it enabled"
        " vCluster's own policy lets all of this vCluster's pods reach each other, so a tenant"
        " policy that denies traffic between them has no effect on the host",
        f"note: {cfg}:9: sync.fromHost: ignored: netpol-syncer reads only {BASE}",
        f"note: {cfg}:13: sync.toHost.pods: ignored: netpol-syncer reads only {BASE}",
    ]
    refused = "is not supported, only RFC 6902 operations are;"
    assert done.stderr.splitlines() == [
        f"error: {cfg}:18: {BASE}.patches[0]: vCluster's own patch syntax (path + expression)"
        f" {refused} RFC 6902 equivalent: {{op: add, path: /metadata/labels/team, value:"
        ' "shop"} (vCluster changes the field only where it exists; add also creates it)',
        f"error: {cfg}:20: {BASE}.patches[1]: vCluster's own patch syntax (path + expression)"
        f" {refused} no RFC 6902 equivalent: the expression computes the value with"
        " JavaScript; RFC 6902 sets constants only",
        f"error: {cfg}:22: {BASE}.patches[2]: vCluster's own patch syntax (path +"
        f" reverseExpression) {refused} no RFC 6902 equivalent: reverseExpression rewrites host"
        " changes copied back into the virtual cluster; this syncer never copies back, so the"
        " entry can be dropped",
        f"error: {cfg}:24: {BASE}.patches[3]: vCluster's own patch syntax (path + labels)"
        f" {refused} no RFC 6902 equivalent: a labels patch translates a label selector; this"
        " syncer already translates every selector of a NetworkPolicy, so the entry can be"
        " dropped",
        f"{cfg}: 4 problems",
    ]


def test_the_suggested_equivalent_is_accepted(tmp_path: Path) -> None:
    """Pasting the suggested operation in place of the vCluster entry gives a valid file."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        textwrap.dedent(
            """\
            controlPlane: {distro: {k8s: {enabled: true}}}
            sync:
              toHost:
                networkPolicies:
                  enabled: true
                  patches:
                    - {op: add, path: /metadata/labels/team, value: "shop"}
            """
        )
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"note: {cfg}:1: controlPlane: ignored: netpol-syncer reads only {BASE}",
        f"ok: {BASE}: enabled, 1 patch (from {cfg})",
    ]


def test_multi_namespace_mode_is_reported_as_unsupported(tmp_path: Path) -> None:
    """sync.toHost.namespaces.enabled is a problem with its reason and line (exit 2)."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        textwrap.dedent(
            """\
            sync:
              toHost:
                namespaces:
                  enabled: true
                networkPolicies:
                  enabled: true
            """
        )
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {cfg}:4: sync.toHost.namespaces.enabled: multi-namespace mode is not supported:"
        " vCluster then puts each virtual namespace's pods in a host namespace of its own, while"
        " netpol-syncer writes every copy into its one host namespace and scopes it by the"
        " vcluster.loft.sh/namespace label, so the copies would select no pod and the tenant's"
        " policies would not be enforced",
        f"{cfg}: 1 problem",
    ]


def test_multi_namespace_mode_off_is_only_ignored(tmp_path: Path) -> None:
    """A namespaces block that leaves multi-namespace mode off is just another ignored block."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text("sync: {toHost: {namespaces: {enabled: false}}}\n")
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == (
        f"note: {cfg}:1: sync.toHost.namespaces: ignored: netpol-syncer reads only {BASE}"
    )
