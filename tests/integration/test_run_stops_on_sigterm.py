"""``netpol-syncer run`` as a real process against two API server processes (standalone
kubesims, or the session's real kube-apiservers, addressed directly): it syncs while running and
exits 0 within 5 s of SIGTERM, even while busy (issue 4, item 7)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config

from tests.support import backends
from tests.support.harness import HOST_NAMESPACE, NETPOL_SYNCER, VCLUSTER, network_policy, wait_for
from tests.support.real import RealSim

POLICIES = 300
HOST_QPS = 20
"""Slow enough that syncing every policy takes far longer than the test waits."""


@contextlib.asynccontextmanager
async def _process(*args: str, stderr: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETPOL_SYNCER_")}
    with stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=err, env=env
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def _kubesim(workdir: Path, name: str) -> AsyncIterator[Path]:
    kubeconfig = workdir / f"{name}.kubeconfig"
    args = ["--port", "0", "--kubeconfig-out", str(kubeconfig), "--bookmark-interval", "0.5"]
    async with _process(sys.executable, "-m", "kubesim", *args, stderr=workdir / f"{name}.log"):
        await wait_for(kubeconfig.exists, timeout=20, message=f"{name} kubesim did not start")
        yield kubeconfig


@contextlib.asynccontextmanager
async def _server(workdir: Path, name: str, backend: str) -> AsyncIterator[Path]:
    """A kubeconfig for a running server of ``backend`` (emptied of earlier tests' objects)."""
    if backend == backends.KUBESIM:
        async with _kubesim(workdir, name) as kubeconfig:
            yield kubeconfig
        return
    env = backends.real_env(name)
    RealSim(env).reset(["default"])
    yield env.kubeconfig


@contextlib.asynccontextmanager
async def _api(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api


def _metrics_url(log: Path) -> str | None:
    """The metrics server's address, from its JSON "serving metrics and probes" log line."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("event") == "serving metrics and probes":
                return f"http://{event['addresses'][0]}"
    return None


def _body(name: str) -> Any:
    """A NetworkPolicy as the plain dict the client serializes as is."""
    return network_policy(name)


async def _status(url: str) -> int:
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status
    except aiohttp.ClientError:
        return 0


@pytest.mark.parametrize("backend", backends.params())
async def test_run_syncs_and_exits_zero_soon_after_sigterm(tmp_path: Path, backend: str) -> None:
    """The process becomes ready, writes host copies, and on SIGTERM in the middle of a long
    sync stops within 5 s with exit code 0, leaving only complete host objects behind."""
    async with (
        _server(tmp_path, "virtual", backend) as virtual,
        _server(tmp_path, "host", backend) as host,
    ):
        async with _api(virtual) as api:
            policies = client.NetworkingV1Api(api)
            await asyncio.gather(
                *(
                    policies.create_namespaced_network_policy("default", _body(f"p{i}"))
                    for i in range(POLICIES)
                )
            )
        async with _api(host) as api:
            namespace = client.V1Namespace(metadata=client.V1ObjectMeta(name=HOST_NAMESPACE))
            try:
                await client.CoreV1Api(api).create_namespace(namespace)
            except client.ApiException as exc:
                if exc.status != 409:  # a shared real server keeps its namespaces
                    raise

        log = tmp_path / "syncer.log"
        (tmp_path / "vcluster.yaml").write_text("sync: {}\n", encoding="utf-8")
        args = [
            "run",
            "--name", VCLUSTER,
            "--host-namespace", HOST_NAMESPACE,
            "--virtual-kubeconfig", str(virtual),
            "--host-kubeconfig", str(host),
            "--config", str(tmp_path / "vcluster.yaml"),
            "--metrics-address", "127.0.0.1:0",
            "--host-qps", str(HOST_QPS),
            "--host-burst", "1",
        ]  # fmt: skip
        async with _process(NETPOL_SYNCER, *args, stderr=log) as syncer, _api(host) as api:
            url = await wait_for(lambda: _metrics_url(log), timeout=20)

            async def ready() -> bool:
                return await _status(f"{url}/readyz") == 200

            await wait_for(ready, timeout=20)
            assert await _status(f"{url}/healthz") == 200
            networking = client.NetworkingV1Api(api)

            async def copies() -> int:
                found = await networking.list_namespaced_network_policy(HOST_NAMESPACE)
                return len(found.items)

            async def busy() -> bool:
                return await copies() >= 10

            await wait_for(busy, timeout=20)
            syncer.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            code = await asyncio.wait_for(syncer.wait(), 10)
            elapsed = time.monotonic() - sent
            assert code == 0, log.read_text(encoding="utf-8")
            assert elapsed < 5.0, f"took {elapsed:.1f}s to stop"
            synced = await copies()
            assert 10 <= synced < POLICIES, "the syncer was not busy when it was stopped"
        assert '"stopped"' in log.read_text(encoding="utf-8")
