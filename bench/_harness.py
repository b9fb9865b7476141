"""Shared machinery of the controller benchmarks (convergence, steady, restart, latency, memory).

Honest numbers on a small machine need processes kept apart: each kubesim server runs alone in
its own process (:mod:`bench._simserver`, i.e. ``python -m kubesim`` plus a counters port), so
neither the syncer nor a baseline client shares an event loop with a server. The syncer runs
either in the benchmark's process (:func:`settings_for`, used where the benchmark's own loop is
otherwise idle) or as its own ``netpol-syncer run`` process (:class:`SyncerProcess`, used where
the benchmark drives load or reads the RSS).

Write and LIST counts come from the servers (``GET /counters``), and are cross-checked with the
syncer's ``netpol_syncer_api_requests_total``. Client-side rate limits of the syncer are raised
to :data:`BENCH_QPS` so they measure the syncer rather than its throttle; every report says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from syncer.configuration import config, settings
from translate import markers

REPO: Final = Path(__file__).resolve().parents[1]
VCLUSTER: Final = "bench"
HOST_NAMESPACE: Final = "vcluster-bench"
VIRTUAL_NAMESPACES: Final = 20
"""Virtual namespaces the policies are spread over (tenant-00 ... tenant-19)."""
SEQ_ANNOTATION: Final = "bench.netpol-syncer.io/seq"
"""Annotation the latency benchmark bumps; the syncer copies it to the host copy."""
BENCH_QPS: Final = 1_000_000.0
BENCH_BURST: Final = 1_000_000
"""Client-side rate limits for the syncer under benchmark: effectively off (defaults are 20/40)."""
SEED_CONCURRENCY: Final = 64
DEFAULT_WORKERS: Final = settings.Settings(
    name="x", host_namespace="x", virtual_kubeconfig="x"
).workers
"""``netpol-syncer run``'s default ``--workers``."""
WRITE_VERBS: Final = frozenset({"create", "update", "patch", "delete", "deletecollection"})
POLICIES: Final = "networkpolicies"

Json = dict[str, Any]


# -- policies ------------------------------------------------------------------------------------


def virtual_namespace(i: int) -> str:
    return f"tenant-{i % VIRTUAL_NAMESPACES:02d}"


def virtual_policy(i: int) -> Json:
    """Policy number ``i``: a realistic mix of pod, namespace and ipBlock peers, and ports."""
    app = f"app-{i % 50}"
    ingress_from: list[Json] = [
        {"podSelector": {"matchLabels": {"role": "frontend", "app": app}}},
        {
            "namespaceSelector": {"matchLabels": {"team": f"team-{i % 7}"}},
            "podSelector": {
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]
            },
        },
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"np-{i:06d}",
            "namespace": virtual_namespace(i),
            "labels": {"app": app, "team": f"team-{i % 7}"},
            "annotations": {"owner": f"team-{i % 7}@example.com"},
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": app}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": ingress_from,
                    "ports": [
                        {"port": 8080, "protocol": "TCP"},
                        {"port": "http", "protocol": "TCP"},
                    ],
                }
            ],
            "egress": [
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]},
                {"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]},
            ],
        },
    }


def namespace_object(name: str) -> Json:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def collection(namespace: str | None) -> str:
    if namespace is None:
        return "/apis/networking.k8s.io/v1/networkpolicies"
    return f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"


# -- kubesim servers in their own processes -------------------------------------------------------


Counts = dict[tuple[str, str], int]


@dataclass
class SimServer:
    """One ``python -m bench._simserver`` process (a standalone kubesim with counters)."""

    name: str
    url: str
    counters_url: str
    kubeconfig: Path
    process: asyncio.subprocess.Process

    async def counters(self, session: aiohttp.ClientSession) -> Counts:
        async with session.get(self.counters_url) as response:
            response.raise_for_status()
            body = await response.json()
        return {(r["verb"], r["resource"]): int(r["count"]) for r in body["requests"]}

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.asynccontextmanager
async def sim_server(name: str, workdir: Path) -> AsyncIterator[SimServer]:
    """Start a kubesim server process; stop it (SIGTERM) on exit."""
    kubeconfig = workdir / f"{name}.kubeconfig"
    info = workdir / f"{name}.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench._simserver",
        "--kubeconfig-out",
        str(kubeconfig),
        "--info-out",
        str(info),
        cwd=REPO,
        env=_child_env(),
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"{name}.log").open("wb"),
    )
    try:
        await wait_for(info.exists, within=30.0, what=f"kubesim {name} to start")
        data = json.loads(info.read_text(encoding="utf-8"))
        yield SimServer(name, data["url"], data["counters_url"], kubeconfig, process)
    finally:
        await _terminate(process)


def _child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), path) if p))


async def _terminate(process: asyncio.subprocess.Process, grace: float = 10.0) -> int:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


def writes(before: Counts, after: Counts, resource: str | None = None) -> dict[str, int]:
    """Write requests between two counter snapshots, by ``verb resource`` (non-zero only)."""
    out: dict[str, int] = {}
    for (verb, res), n in after.items():
        if verb in WRITE_VERBS and (resource is None or res == resource):
            delta = n - before.get((verb, res), 0)
            if delta:
                out[f"{verb} {res}"] = delta
    return out


def delta(before: Counts, after: Counts, verb: str, resource: str = POLICIES) -> int:
    return after.get((verb, resource), 0) - before.get((verb, resource), 0)


# -- seeding and reading over HTTP ---------------------------------------------------------------


def client_session(concurrency: int = SEED_CONCURRENCY) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def post_all(
    session: aiohttp.ClientSession,
    url: str,
    objects: Iterable[Json],
    *,
    concurrency: int = SEED_CONCURRENCY,
    path: Callable[[Json], str] | None = None,
) -> None:
    """POST every object (to its namespace's collection) with ``concurrency`` in flight."""
    pending = iter(objects)
    where = path or (lambda obj: collection(obj["metadata"]["namespace"]))

    async def worker() -> None:
        for obj in pending:
            body = json.dumps(obj).encode()
            headers = {"Content-Type": "application/json"}
            async with session.post(url + where(obj), data=body, headers=headers) as response:
                if response.status not in (200, 201):
                    text = await response.text()
                    raise RuntimeError(f"POST failed: {response.status} {text[:300]}")
                await response.read()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def create_namespaces(
    session: aiohttp.ClientSession, server: SimServer, names: Iterable[str]
) -> None:
    for name in names:
        async with session.post(
            server.url + "/api/v1/namespaces", json=namespace_object(name)
        ) as r:
            if r.status not in (201, 409):
                raise RuntimeError(f"namespace {name}: {r.status} {await r.text()}")


async def seed_virtual(session: aiohttp.ClientSession, server: SimServer, count: int) -> float:
    """Create the virtual namespaces and ``count`` policies; returns the seconds it took."""
    started = time.perf_counter()
    await create_namespaces(
        session, server, (virtual_namespace(i) for i in range(VIRTUAL_NAMESPACES))
    )
    await post_all(session, server.url, (virtual_policy(i) for i in range(count)))
    return time.perf_counter() - started


async def list_policies(
    session: aiohttp.ClientSession, server: SimServer, namespace: str | None
) -> Json:
    async with session.get(server.url + collection(namespace)) as response:
        response.raise_for_status()
        body: Json = await response.json()
    return body


async def count_host_copies(session: aiohttp.ClientSession, host: SimServer) -> int:
    url = host.url + collection(HOST_NAMESPACE)
    params = {"labelSelector": f"{markers.MANAGED_BY}={VCLUSTER}"}
    async with session.get(url, params=params) as response:
        response.raise_for_status()
        body = await response.json()
    return len(body["items"])


# -- the syncer ----------------------------------------------------------------------------------


def settings_for(
    virtual: SimServer,
    host: SimServer,
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


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return out


def metric(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def api_requests(samples: Samples) -> dict[str, int]:
    """``netpol_syncer_api_requests_total`` as ``{"cluster verb code": n}`` (non-zero only)."""
    out: dict[str, int] = {}
    for (name, labels), value in samples.items():
        if name == "netpol_syncer_api_requests_total" and value:
            ls = dict(labels)
            out[f"{ls['cluster']} {ls['verb']} {ls['code']}"] = int(value)
    return dict(sorted(out.items()))


def api_delta(before: Samples, after: Samples) -> dict[str, int]:
    b, a = api_requests(before), api_requests(after)
    return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}


def histogram(samples: Samples, name: str) -> list[tuple[float, float]]:
    """Cumulative ``(upper bound, count)`` buckets of a histogram, sorted."""
    out = [(float(dict(ls)["le"]), v) for (n, ls), v in samples.items() if n == name + "_bucket"]
    return sorted(out)


def histogram_delta(
    before: list[tuple[float, float]], after: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    old = dict(before)
    return [(le, count - old.get(le, 0.0)) for le, count in after]


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_bound
            width = count - lower_count
            fraction = (rank - lower_count) / width if width else 1.0
            return lower_bound + (le - lower_bound) * fraction
        lower_bound, lower_count = le, count
    return lower_bound


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
        return await _terminate(self.process)


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
        env=_child_env(),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("ab"),
    )
    return SyncerProcess(process, f"http://127.0.0.1:{port}", log_path, spawned_at, session)


@contextlib.asynccontextmanager
async def syncer_process(
    virtual: SimServer,
    host: SimServer,
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


# -- /proc ---------------------------------------------------------------------------------------


def proc_memory(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "VmSize"):
            out[key + "_kB"] = int(value.split()[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# -- waiting, statistics, output ------------------------------------------------------------------


async def wait_for(
    condition: Callable[[], bool], *, within: float, what: str, interval: float = 0.02
) -> None:
    """Poll ``condition`` every ``interval`` seconds; TimeoutError after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def wait_for_async(
    condition: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Like :func:`wait_for` with an async condition."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def median(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(statistics.median(present), 6) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of raw samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def medians(runs: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, float | None]:
    return {key: median(run.get(key) for run in runs) for key in keys}


def base_parser(name: str, doc: str | None, *, policies: int = 10_000) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m bench {name}", description=(doc or "").split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--policies", type=int, default=policies, help=f"virtual policies (default {policies})"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="independent runs; medians are reported"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"syncer workers, and the baseline's concurrency (default {DEFAULT_WORKERS})",
    )
    return parser


def environment() -> Json:
    """The machine, and how busy it was when the report was made (other work skews wall time)."""
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "platform": sys.platform,
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def emit(report: Json, *, as_json: bool, summary: Iterable[str]) -> None:
    if as_json:
        print(json.dumps(report))
        return
    for line in summary:
        print(line)


def workdir() -> contextlib.AbstractContextManager[str]:
    return tempfile.TemporaryDirectory(prefix="netpol-bench-")


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class Clusters:
    """The two kubesim servers of a benchmark, the virtual one seeded, and an HTTP session."""

    virtual: SimServer
    host: SimServer
    session: aiohttp.ClientSession
    work: Path
    seed_seconds: float


@contextlib.asynccontextmanager
async def clusters(work: Path, policies: int) -> AsyncIterator[Clusters]:
    """Start both servers, create the host namespace and seed ``policies`` virtual policies."""
    async with (
        sim_server("virtual", work) as virtual,
        sim_server("host", work) as host,
        client_session() as session,
    ):
        await create_namespaces(session, host, [HOST_NAMESPACE])
        seed_seconds = await seed_virtual(session, virtual, policies)
        yield Clusters(virtual, host, session, work, seed_seconds)


@contextlib.asynccontextmanager
async def settled_syncer(
    c: Clusters, *, policies: int, workers: int, resync_period: float, tag: str
) -> AsyncIterator[SyncerProcess]:
    """A syncer process against ``c`` that is ready and has every key in sync."""
    async with syncer_process(
        c.virtual, c.host, c.work, workers=workers, resync_period=resync_period, tag=tag
    ) as syncer:
        await syncer.wait_ready()
        await syncer.wait_settled(policies)
        yield syncer


def scaled(full: float, policies: int, *, minimum: float) -> float:
    """A duration that is ``full`` at 10,000 policies and shrinks with N (CI smoke runs)."""
    return max(minimum, min(full, full * policies / 10_000))
