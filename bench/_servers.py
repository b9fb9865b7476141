"""The two API servers of a benchmark, each in its own process: kubesim or a real one.

``--backend kubesim`` starts ``python -m bench._simserver`` (a standalone kubesim plus a
counters port); ``--backend real`` starts kube-testenv (a real kube-apiserver with etcd, the
binary ``tools/kube-testenv/build --cached`` prints, through ``tests.support.kube_testenv``).
Either way a benchmark gets a :class:`Server`: its URL, an admin kubeconfig, the process id
(for CPU time), what every raw HTTP request to it needs (TLS and token), and its request
counters, read on the server side:

- kubesim: ``kubesim.Counters`` (every resource, every request);
- real: the API server's ``apiserver_request_total``, for the resources a benchmarked syncer
  touches (networkpolicies, events, services, namespaces; it runs without leader election, so
  no leases); the server's own controllers write other resources (flowschemas, its identity
  lease in kube-system) at any time, and those writes are not the syncer's. Its verbs
  (``POST``, ``LIST``...) are mapped to kubesim's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench._waiting import wait_for

REPO: Final = Path(__file__).resolve().parents[1]
Backend = Literal["kubesim", "real"]
BACKENDS: Final[tuple[Backend, ...]] = ("kubesim", "real")
Counts = dict[tuple[str, str], int]
"""``(verb, resource)`` -> requests, as kubesim names them (``create``, ``list``...)."""

REAL_VERBS: Final = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "APPLY": "patch",
    "DELETE": "delete",
    "DELETECOLLECTION": "deletecollection",
    "GET": "get",
    "LIST": "list",
    "WATCH": "watch",
    "WATCHLIST": "watch",
}
REAL_RESOURCES: Final = frozenset({"networkpolicies", "events", "services", "namespaces"})


@dataclass
class Server:
    """One API server process of a benchmark."""

    name: str
    backend: Backend
    url: str
    kubeconfig: Path
    pid: int
    http: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments every raw aiohttp request to this server needs (``headers``, ``ssl``)."""
    _counters: Callable[[aiohttp.ClientSession], Awaitable[Counts]] | None = field(
        default=None, repr=False
    )

    async def counters(self, session: aiohttp.ClientSession) -> Counts:
        assert self._counters is not None
        return await self._counters(session)


@contextlib.asynccontextmanager
async def server(backend: Backend, name: str, workdir: Path) -> AsyncIterator[Server]:
    """Start a server of ``backend``; stop it (SIGTERM) on exit."""
    factory = sim_server if backend == "kubesim" else real_server
    async with factory(name, workdir) as started:
        yield started


@contextlib.asynccontextmanager
async def sim_server(name: str, workdir: Path) -> AsyncIterator[Server]:
    """Start a kubesim server process."""
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
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"{name}.log").open("wb"),
    )
    try:
        await wait_for(info.exists, within=30.0, what=f"kubesim {name} to start")
        data = json.loads(info.read_text(encoding="utf-8"))
        counters_url = data["counters_url"]

        async def counters(session: aiohttp.ClientSession) -> Counts:
            async with session.get(counters_url) as response:
                response.raise_for_status()
                body = await response.json()
            return {(r["verb"], r["resource"]): int(r["count"]) for r in body["requests"]}

        yield Server(name, "kubesim", data["url"], kubeconfig, process.pid, {}, counters)
    finally:
        await terminate(process)


@contextlib.asynccontextmanager
async def real_server(name: str, workdir: Path) -> AsyncIterator[Server]:
    """Start kube-testenv (kube-apiserver + etcd) with a data directory of its own."""
    sys.path.insert(0, str(REPO))  # tests/ is not installed; its helper starts the binary
    from tests.support.kube_testenv import TestEnv

    env = TestEnv(workdir / name)
    await asyncio.to_thread(env.start)
    try:
        context = ssl.create_default_context(cadata=env.ca_pem.decode())
        http: dict[str, Any] = {
            "headers": {"Authorization": f"Bearer {env.token}"},
            "ssl": context,
        }

        async def counters(session: aiohttp.ClientSession) -> Counts:
            async with session.get(env.url + "/metrics", **http) as response:
                response.raise_for_status()
                return real_counts(await response.text())

        assert env.pid is not None
        yield Server(name, "real", env.url, env.kubeconfig, env.pid, http, counters)
    finally:
        await asyncio.to_thread(env.stop)


def real_counts(text: str) -> Counts:
    """``apiserver_request_total`` as kubesim-style counts, for :data:`REAL_RESOURCES`."""
    out: Counts = {}
    for family in text_string_to_metric_families(text):
        if family.name != "apiserver_request":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            resource = sample.labels.get("resource", "")
            verb = REAL_VERBS.get(sample.labels.get("verb", ""))
            if verb is None or resource not in REAL_RESOURCES or sample.labels.get("subresource"):
                continue
            out[(verb, resource)] = out.get((verb, resource), 0) + int(sample.value)
    return out


def child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), path) if p))


async def terminate(process: asyncio.subprocess.Process, grace: float = 10.0) -> int:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the exit code."""
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


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and friends of a process in kB (from ``/proc/<pid>/status``)."""
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
