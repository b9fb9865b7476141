"""The syncer under benchmark: its settings, and ``netpol-syncer run`` as its own process.

The syncer runs either in the benchmark's process (:func:`settings_for`, used where the
benchmark's own loop is otherwise idle) or as its own ``netpol-syncer run`` process
(:class:`SyncerProcess`, used where the benchmark drives load or reads the RSS). Client-side
rate limits are raised to :data:`BENCH_QPS` so they measure the syncer rather than its throttle;
every report says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench._http import HOST_NAMESPACE, VCLUSTER
from bench._prom import Samples, api_requests, metric, parse_metrics
from bench._servers import REPO, Server, child_env, proc_cpu_seconds, proc_memory, terminate
from bench._waiting import wait_for_async
from syncer.configuration import config, settings

Json = dict[str, Any]
BENCH_QPS: Final = 1_000_000.0
BENCH_BURST: Final = 1_000_000
"""Client-side rate limits for the syncer under benchmark: effectively off (defaults are 20/40)."""
DEFAULT_WORKERS: Final = settings.Settings(
    name="x", host_namespace="x", virtual_kubeconfig="x"
).workers
"""``netpol-syncer run``'s default ``--workers``."""


def settings_for(
    virtual: Server,
    host: Server,
    *,
    workers: int,
    resync_period: float,
    metrics_port: int = 0,
) -> settings.Settings:
    """Settings of a benchmarked syncer: defaults except rate limits (off) and the addresses."""
    return settings.Settings(
        name=VCLUSTER,
        host_namespace=HOST_NAMESPACE,
        virtual_kubeconfig=str(virtual.kubeconfig),
        host_kubeconfig=str(host.kubeconfig),
        config_path="/nonexistent/bench-vcluster.yaml",
        sync=config.NetworkPolicySync(),
        metrics_address=f"127.0.0.1:{metrics_port}",
        workers=workers,
        resync_period=resync_period,
        virtual_qps=BENCH_QPS,
        virtual_burst=BENCH_BURST,
        host_qps=BENCH_QPS,
        host_burst=BENCH_BURST,
    )


def syncer_parameters(workers: int, resync_period: float, log_level: str) -> Json:
    """What every report states about the syncer's configuration."""
    return {
        "workers": workers,
        "resync_period_s": resync_period,
        "virtual_qps": BENCH_QPS,
        "virtual_burst": BENCH_BURST,
        "host_qps": BENCH_QPS,
        "host_burst": BENCH_BURST,
        "rate_limits_note": "client-side QPS/burst raised from the defaults (20/40) to "
        "effectively unlimited so the syncer, not its throttle, is measured",
        "log": f"json at {log_level}, to a file",
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SyncerProcess:
    """``netpol-syncer run`` as its own process, reachable on its metrics port."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path
    spawned_at: float
    """``time.perf_counter()`` just before the process was spawned."""
    session: aiohttp.ClientSession = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self) -> bool:
        try:
            async with self.session.get(self.url + "/readyz") as response:
                await response.read()
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def metrics(self) -> Samples:
        async with self.session.get(self.url + "/metrics") as response:
            response.raise_for_status()
            return parse_metrics(await response.text())

    def rss(self) -> dict[str, int]:
        """VmRSS, VmHWM and friends of the process in kB (from ``/proc/<pid>/status``)."""
        return proc_memory(self.pid)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def log_events(self) -> list[Json]:
        events = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events

    async def wait_ready(self, *, within: float = 120.0) -> float:
        """Seconds from spawn to the first ``/readyz`` 200 (polled every 10 ms)."""
        await wait_for_async(self.ready, within=within, what="syncer ready", interval=0.01)
        return time.perf_counter() - self.spawned_at

    async def wait_settled(self, expected: int, *, within: float = 300.0) -> Samples:
        """Until ``expected`` policies are in sync, the queue is empty and reconciles stop."""
        deadline = time.monotonic() + within
        last: float | None = None
        while True:
            samples = await self.metrics()
            done = metric(samples, "netpol_syncer_reconcile_total")
            if (
                metric(samples, "netpol_syncer_synced_policies") >= expected
                and metric(samples, "netpol_syncer_queue_depth") == 0
                and done == last
            ):
                return samples
            last = done
            if time.monotonic() > deadline:
                raise TimeoutError(f"syncer did not settle: {api_requests(samples)}")
            await asyncio.sleep(0.25)

    async def stop(self) -> int:
        return await terminate(self.process)


def syncer_args(
    virtual_kubeconfig: Path,
    host_kubeconfig: Path,
    config_path: Path,
    *,
    port: int,
    workers: int,
    resync_period: float,
    log_level: str = "info",
) -> list[str]:
    """``netpol-syncer run`` arguments of a benchmarked syncer (rate limits off)."""
    return [
        "run",
        "--name", VCLUSTER,
        "--host-namespace", HOST_NAMESPACE,
        "--virtual-kubeconfig", str(virtual_kubeconfig),
        "--host-kubeconfig", str(host_kubeconfig),
        "--config", str(config_path),
        "--metrics-address", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--resync-period", f"{resync_period}s",
        "--log-format", "json",
        "--log-level", log_level,
        "--virtual-qps", str(BENCH_QPS),
        "--virtual-burst", str(BENCH_BURST),
        "--host-qps", str(BENCH_QPS),
        "--host-burst", str(BENCH_BURST),
    ]  # fmt: skip


async def spawn_syncer(
    args: Sequence[str], log_path: Path, session: aiohttp.ClientSession
) -> SyncerProcess:
    """Start ``netpol-syncer run`` (``args`` from :func:`syncer_args`) with its log in a file."""
    port = args[list(args).index("--metrics-address") + 1].rpartition(":")[2]
    spawned_at = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from syncer.commands.cli import main; sys.exit(main(sys.argv[1:]))",
        *args,
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("ab"),
    )
    return SyncerProcess(process, f"http://127.0.0.1:{port}", log_path, spawned_at, session)


@contextlib.asynccontextmanager
async def syncer_process(
    virtual: Server,
    host: Server,
    workdir: Path,
    *,
    workers: int,
    resync_period: float,
    log_level: str = "info",
    tag: str = "syncer",
) -> AsyncIterator[SyncerProcess]:
    """Spawn ``netpol-syncer run`` against the two servers; SIGTERM it on exit."""
    args = syncer_args(
        virtual.kubeconfig,
        host.kubeconfig,
        _empty_config(workdir),
        port=free_port(),
        workers=workers,
        resync_period=resync_period,
        log_level=log_level,
    )
    log_path = workdir / f"{tag}.log"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        proc = await spawn_syncer(args, log_path, session)
        try:
            yield proc
        finally:
            code = await proc.stop()
            if code != 0:
                print(f"warning: syncer exited with {code}; see {log_path}", file=sys.stderr)


def _empty_config(workdir: Path) -> Path:
    path = workdir / "vcluster.yaml"
    if not path.exists():
        path.write_text("sync:\n  toHost:\n    networkPolicies:\n      enabled: true\n")
    return path
