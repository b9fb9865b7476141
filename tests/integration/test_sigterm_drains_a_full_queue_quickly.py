"""SIGTERM with 10,000 policies waiting in the queue: the real ``netpol-syncer run`` process
releases its lease and exits 0 well inside the control-plane pod's 15 s grace period (issue
11, item 6). The bound asserted is generous; the measured figure is printed (``-s``)."""

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
import yaml

from tests.support.harness import (
    HOST_NAMESPACE,
    NETPOL_SYNCER,
    VCLUSTER,
    Samples,
    network_policy,
    wait_for,
)

POLICIES = 10_000
HOST_QPS = 20
"""Host writes slowed so that the queue stays full while the test waits."""
BOUND = 10.0
"""What the test asserts: the pod's grace period is 15 s; the target is under 5 s."""


@contextlib.asynccontextmanager
async def _process(*args: str, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETPOL_SYNCER_")}
    with log.open("wb") as err:
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
async def _kubesim(workdir: Path, name: str) -> AsyncIterator[tuple[Path, str]]:
    kubeconfig = workdir / f"{name}.kubeconfig"
    args = ["--port", "0", "--kubeconfig-out", str(kubeconfig), "--bookmark-interval", "1"]
    async with _process(sys.executable, "-m", "kubesim", *args, log=workdir / f"{name}.log"):
        await wait_for(kubeconfig.exists, timeout=30, message=f"{name} kubesim did not start")
        document = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        yield kubeconfig, str(document["clusters"][0]["cluster"]["server"])


async def _post_all(session: aiohttp.ClientSession, url: str, bodies: list[Any]) -> None:
    pending = iter(bodies)

    async def worker() -> None:
        for body in pending:
            async with session.post(url, json=body) as response:
                assert response.status in (201, 409), await response.text()

    await asyncio.gather(*(worker() for _ in range(32)))


def _metrics_url(log: Path) -> str | None:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("event") == "serving metrics and probes":
                return f"http://{event['addresses'][0]}"
    return None


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    try:
        async with session.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


def _sample(text: str, name: str) -> float:
    return Samples.parse(text).value(name)


@pytest.mark.slow
async def test_sigterm_with_ten_thousand_queued_exits_zero_within_the_bound(
    tmp_path: Path,
) -> None:
    """Ready, leading and busy with 10,000 keys queued, the process stops on SIGTERM with
    exit code 0, the lease released, within the bound."""
    async with (
        _kubesim(tmp_path, "virtual") as (virtual, virtual_url),
        _kubesim(tmp_path, "host") as (host, host_url),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session,
    ):
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": HOST_NAMESPACE}}
        async with session.post(f"{host_url}/api/v1/namespaces", json=namespace) as response:
            assert response.status == 201
        policies = f"{virtual_url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
        seeding = time.monotonic()
        await _post_all(session, policies, [network_policy(f"p{i}") for i in range(POLICIES)])
        print(f"\nseeded {POLICIES} policies in {time.monotonic() - seeding:.1f} s")

        log = tmp_path / "syncer.log"
        args = [
            "run",
            "--name", VCLUSTER,
            "--host-namespace", HOST_NAMESPACE,
            "--virtual-kubeconfig", str(virtual),
            "--host-kubeconfig", str(host),
            "--config", str(tmp_path / "absent.yaml"),
            "--metrics-address", "127.0.0.1:0",
            "--leader-elect",
            "--host-qps", str(HOST_QPS),
            "--host-burst", "1",
        ]  # fmt: skip
        async with _process(NETPOL_SYNCER, *args, log=log) as syncer:
            url = await wait_for(lambda: _metrics_url(log), timeout=30)

            async def busy() -> bool:
                status, text = await _get(session, f"{url}/metrics")
                return (
                    status == 200
                    and _sample(text, "netpol_syncer_reconcile_total") > 0
                    and (_sample(text, "netpol_syncer_leader") == 1)
                )

            await wait_for(busy, timeout=120, interval=0.2)
            _, text = await _get(session, f"{url}/metrics")
            queued = _sample(text, "netpol_syncer_queue_depth")
            assert queued >= POLICIES - 200, f"only {queued:.0f} keys queued"

            syncer.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            code = await asyncio.wait_for(syncer.wait(), 30)
            elapsed = time.monotonic() - sent
        print(f"\nSIGTERM -> exit {code} in {elapsed:.2f} s with {queued:.0f} keys queued")
        assert code == 0, log.read_text(encoding="utf-8")[-3000:]
        assert elapsed < BOUND, f"took {elapsed:.1f} s to stop"
        lease = f"{host_url}/apis/coordination.k8s.io/v1/namespaces/{HOST_NAMESPACE}/leases/"
        _, body = await _get(session, lease + f"{VCLUSTER}-netpol-syncer")
        assert json.loads(body)["spec"]["holderIdentity"] == ""
        assert '"released the lease"' in log.read_text(encoding="utf-8")
