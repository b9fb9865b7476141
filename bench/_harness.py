"""Shared machinery of the controller benchmarks, and their one run skeleton.

Honest numbers on a small machine need processes kept apart: each API server runs alone in its
own process (kubesim, or a real kube-apiserver with ``--backend real``), so neither the syncer
nor a baseline client shares an event loop with a server. Write and LIST counts come from the
servers, and are cross-checked with the syncer's ``netpol_syncer_api_requests_total``.

The jobs live in their own modules, re-exported here so a benchmark needs one import:

- :mod:`bench._servers`: server processes (both backends), their counters, /proc readings;
- :mod:`bench._http`: the virtual policies, seeding and reading them over HTTP;
- :mod:`bench._syncer`: the syncer's settings, and ``netpol-syncer run`` as a process;
- :mod:`bench._prom`: the syncer's Prometheus metrics (sums, histograms, quantiles);
- :mod:`bench._waiting`: polling, statistics and the report's output.

:func:`run` is the skeleton every controller benchmark's ``main`` is: parse the common options
(``--json --policies --repeat --workers --backend``) plus its own, measure in a temporary
directory, add the backend and the machine's state to the parameters, print.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench._http import (
    HOST_NAMESPACE,
    POLICIES,
    SEED_CONCURRENCY,
    SEQ_ANNOTATION,
    VCLUSTER,
    VIRTUAL_NAMESPACES,
    WRITE_VERBS,
    client_session,
    collection,
    count_host_copies,
    create_namespaces,
    delta,
    list_policies,
    namespace_object,
    post_all,
    read_policies,
    seed_virtual,
    virtual_namespace,
    virtual_policy,
    writes,
)
from bench._prom import (
    Samples,
    api_delta,
    api_requests,
    histogram,
    histogram_delta,
    histogram_quantile,
    metric,
    parse_metrics,
)
from bench._servers import (
    BACKENDS,
    REAL_RESOURCES,
    REPO,
    Backend,
    Counts,
    Server,
    proc_cpu_seconds,
    proc_memory,
    real_server,
    server,
    sim_server,
)
from bench._syncer import (
    BENCH_BURST,
    BENCH_QPS,
    DEFAULT_WORKERS,
    SyncerProcess,
    free_port,
    settings_for,
    spawn_syncer,
    syncer_args,
    syncer_parameters,
    syncer_process,
)
from bench._waiting import (
    emit,
    environment,
    median,
    medians,
    percentile,
    rounded,
    wait_for,
    wait_for_async,
    workdir,
)

__all__ = [
    "BACKENDS",
    "BENCH_BURST",
    "BENCH_QPS",
    "DEFAULT_WORKERS",
    "HOST_NAMESPACE",
    "POLICIES",
    "REAL_RESOURCES",
    "REPO",
    "SEED_CONCURRENCY",
    "SEQ_ANNOTATION",
    "VCLUSTER",
    "VIRTUAL_NAMESPACES",
    "WRITE_VERBS",
    "Backend",
    "Clusters",
    "Counts",
    "Json",
    "Samples",
    "Server",
    "SimServer",
    "SyncerProcess",
    "api_delta",
    "api_requests",
    "base_parser",
    "client_session",
    "clusters",
    "collection",
    "count_host_copies",
    "create_namespaces",
    "delta",
    "emit",
    "environment",
    "free_port",
    "histogram",
    "histogram_delta",
    "histogram_quantile",
    "list_policies",
    "median",
    "medians",
    "metric",
    "namespace_object",
    "parse_metrics",
    "percentile",
    "post_all",
    "proc_cpu_seconds",
    "proc_memory",
    "read_policies",
    "real_server",
    "repeat",
    "rounded",
    "run",
    "scaled",
    "seed_virtual",
    "server",
    "settings_for",
    "settled_syncer",
    "sim_server",
    "spawn_syncer",
    "syncer_args",
    "syncer_parameters",
    "syncer_process",
    "virtual_namespace",
    "virtual_policy",
    "wait_for",
    "wait_for_async",
    "workdir",
    "writes",
]

Json = dict[str, Any]
SimServer = Server
"""The former name of a benchmark's server (kubesim was the only backend)."""


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
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="kubesim",
        help="API servers: kubesim processes, or real kube-apiservers (kube-testenv, "
        "built once with tools/kube-testenv/build) (default kubesim)",
    )
    return parser


Measure = Callable[[argparse.Namespace, Path], Awaitable[Json]]
Summary = Callable[[Json, argparse.Namespace], Iterable[str]]


def run(
    argv: list[str],
    *,
    name: str,
    doc: str | None,
    measure: Measure,
    summary: Summary,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    defaults: Callable[[argparse.Namespace], None] | None = None,
    policies: int = 10_000,
) -> int:
    """Parse, measure in a temporary directory, complete the report, print it.

    ``options`` adds the benchmark's own flags, ``defaults`` fills those that depend on others
    (e.g. a window scaled with ``--policies``); ``measure`` returns the report without its
    ``benchmark`` name, and its ``parameters`` without the backend and the machine's state.
    """
    parser = base_parser(name, doc, policies=policies)
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    if defaults is not None:
        defaults(args)

    async def measured() -> Json:
        with workdir() as tmp:
            return await measure(args, Path(tmp))

    result = asyncio.run(measured())
    parameters = {**result.pop("parameters", {}), "backend": args.backend, **environment()}
    report = {"benchmark": name, "parameters": parameters, **result}
    emit(report, as_json=args.json, summary=summary(report, args))
    return 0


async def repeat(count: int, once: Callable[[int], Awaitable[Json]]) -> list[Json]:
    """``once(0) ... once(count - 1)``, one after the other: the runs of a report."""
    return [await once(index) for index in range(count)]


@dataclass
class Clusters:
    """The two servers of a benchmark, the virtual one seeded, and an HTTP session."""

    virtual: Server
    host: Server
    session: aiohttp.ClientSession
    work: Path
    seed_seconds: float


@contextlib.asynccontextmanager
async def clusters(
    work: Path, policies: int, backend: Backend = "kubesim"
) -> AsyncIterator[Clusters]:
    """Start both servers, create the host namespace and seed ``policies`` virtual policies."""
    async with (
        server(backend, "virtual", work) as virtual,
        server(backend, "host", work) as host,
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
