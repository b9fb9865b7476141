"""The ``guardrails`` block (SPEC §9) in the offline commands: ``check-config`` validates it with
file, line and YAML path like every other problem and accepts ``isolation: managed``, and
``translate`` prints what the guardrails changed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.invoke import netpol_syncer

GUARDRAILS = """\
guardrails:
  dns: auto
  blockedCIDRs: [169.254.169.254/32]
  hostPeers:
    ingress-nginx:
      namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: ingress-nginx}
"""
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
    - to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
      ports: [{protocol: UDP, port: 53}]
"""
TARGET = ("--name", "vc", "--host-namespace", "vcluster-vc")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vcluster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_block_is_summarised_and_not_listed_as_ignored(tmp_path: Path) -> None:
    cfg = _write(tmp_path, GUARDRAILS)
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "ok: sync.toHost.networkPolicies: enabled, 0 patches; guardrails: dns: auto,"
        f" 1 blocked CIDRs, host peers: ingress-nginx (from {cfg})\n"
    )


def test_every_guardrail_problem_has_its_line_and_path(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path,
        "guardrails:\n"
        "  dns: sometimes\n"
        "  blockedCIDRs:\n"
        "    - 169.254.169.254/32\n"
        "    - 10.0.0.0/33\n"
        "  isolation: sometimes\n",
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"error: {cfg}:2: guardrails.dns: "), lines
    assert lines[1].startswith(f"error: {cfg}:5: guardrails.blockedCIDRs[1]: "), lines
    assert "'10.0.0.0/33'" in lines[1]
    assert lines[2].startswith(f"error: {cfg}:6: guardrails.isolation: "), lines
    assert "'sometimes'" in lines[2]
    assert lines[3] == f"{cfg}: 3 problems"


def test_isolation_managed_is_accepted_and_summarised(tmp_path: Path) -> None:
    """``isolation: managed`` is a supported setting: check-config passes and names it."""
    cfg = _write(tmp_path, "guardrails:\n  isolation: managed\n")
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "ok: sync.toHost.networkPolicies: enabled, 0 patches; guardrails: isolation: managed"
        f" (from {cfg})\n"
    )


def test_translate_comments_each_changed_document(tmp_path: Path) -> None:
    cfg = _write(tmp_path, GUARDRAILS)
    done = netpol_syncer("translate", *TARGET, "-f", "-", "--config", str(cfg), stdin=POLICY)
    assert (done.returncode, done.stderr) == (0, "")
    head = done.stdout.splitlines()[:3]
    assert head == [
        "# guardrails: egress[2]: added the vCluster's DNS endpoint on 1053/UDP",
        "# guardrails: egress[0].to[0]: ipBlock 0.0.0.0/0 now excepts 169.254.169.254/32",
        "---",
    ]


def test_translate_json_stays_a_plain_list_with_notes_on_stderr(tmp_path: Path) -> None:
    """A script reads the List from stdout and ``note: NetworkPolicy ns/name: ...`` lines."""
    cfg = _write(tmp_path, GUARDRAILS)
    done = netpol_syncer(
        "translate", *TARGET, "-f", "-", "-o", "json", "--config", str(cfg), stdin=POLICY
    )
    assert done.returncode == 0
    listed = json.loads(done.stdout)
    assert set(listed) == {"apiVersion", "kind", "items"}
    egress = listed["items"][0]["spec"]["egress"]
    assert egress[0]["to"][0]["ipBlock"]["except"] == ["169.254.169.254/32"]
    assert egress[2]["ports"] == [{"protocol": "UDP", "port": 1053}]
    assert done.stderr.splitlines() == [
        "note: NetworkPolicy shop/web: guardrails: egress[2]: added the vCluster's DNS endpoint"
        " on 1053/UDP",
        "note: NetworkPolicy shop/web: guardrails: egress[0].to[0]: ipBlock 0.0.0.0/0 now"
        " excepts 169.254.169.254/32",
    ]


def test_embedded_coredns_targets_the_control_plane_pod(tmp_path: Path) -> None:
    """Offline, the DNS endpoint is the common default; ``controlPlane.coredns.embedded``
    in the same file makes it the control-plane pod (``release=<name>``)."""
    cfg = _write(tmp_path, "controlPlane: {coredns: {embedded: true}}\n" + GUARDRAILS)
    done = netpol_syncer(
        "translate", *TARGET, "-f", "-", "-o", "json", "--config", str(cfg), stdin=POLICY
    )
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)["items"][0]["spec"]["egress"][2]
    assert added["to"] == [{"podSelector": {"matchLabels": {"app": "vcluster", "release": "vc"}}}]


def test_an_unknown_host_peer_is_reported_and_skipped(tmp_path: Path) -> None:
    cfg = _write(tmp_path, GUARDRAILS)
    policy = POLICY.replace(
        "  egress:\n",
        "  ingress:\n"
        "    - from: [{namespaceSelector: {matchLabels: {netpol-syncer.io/host-peer: nope}}}]\n"
        "  egress:\n",
    )
    done = netpol_syncer("translate", *TARGET, "-f", "-", "--config", str(cfg), stdin=policy)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "NetworkPolicy shop/web" in done.stderr
    assert "nope" in done.stderr


def test_isolation_managed_with_vc_work_on_says_to_turn_it_off(tmp_path: Path) -> None:
    """vCluster's workload policy would keep tenant denies void: a warning (which ``run``
    logs) and the note on ``policies.networkPolicy`` say to turn it off."""
    cfg = _write(
        tmp_path,
        "policies:\n  networkPolicy:\n    enabled: true\nguardrails:\n  isolation: managed\n",
    )
    done = netpol_syncer("check-config", "--config", str(cfg))
    assert done.returncode == 0
    assert "tenant denies stay void until it is turned off" in done.stderr  # also run's log
    notes = [line for line in done.stdout.splitlines() if "policies.networkPolicy" in line]
    assert len(notes) == 1, done.stdout
    assert notes[0].startswith(f"note: {cfg}:2: policies.networkPolicy: "), notes
    assert notes[0].endswith("turn it off (enabled: false) for guardrails.isolation: managed")
