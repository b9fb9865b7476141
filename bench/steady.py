"""Steady state: N synced policies, a window without changes: zero writes to either server.

``python -m bench steady [--policies N] [--duration S] [--resync-period S] [--repeat R] [--json]``

The syncer runs as its own ``netpol-syncer run`` process against two kubesim processes. Once it
has converged and settled (every key in sync, queue empty, reconcile count stable), the servers'
request counters and the syncer's metrics are read, nothing happens for ``--duration`` seconds
(60 at 10,000 policies; scaled down with N so CI smoke runs take seconds), and they are read
again. Writes are counted by the servers on every resource (events and leases included).

The resync period defaults to a third of the window, so the window contains full resyncs
(N no-op reconciles each) and proves they cost no API call; the production default is 300 s.
Meanwhile ``/readyz`` is requested every 100 ms: its response time shows whether the event loop
stays responsive through a resync (``healthz_*`` figures, in ms).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench import _harness as h


async def _measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    async with h.clusters(work, args.policies, args.backend) as c:

        async def once(index: int) -> dict[str, Any]:
            async with h.settled_syncer(
                c,
                policies=args.policies,
                workers=args.workers,
                resync_period=args.resync_period,
                tag=f"syncer-{index}",
            ) as syncer:
                await asyncio.sleep(1.0)  # let the event recorder and watches go quiet
                # Server counters are read outside the syncer's window: a real apiserver's
                # /metrics takes about a second to scrape, which would otherwise add resyncs
                # to the syncer's figures. Writes are then counted over a longer span (safe).
                counted = time.perf_counter()
                before_v = await c.virtual.counters(c.session)
                before_h = await c.host.counters(c.session)
                before = await syncer.metrics()
                started = time.perf_counter()
                cpu_before = syncer.cpu_seconds()
                probes: list[float] = []
                prober = asyncio.create_task(_probe(syncer, probes))
                await asyncio.sleep(args.duration)
                prober.cancel()
                await asyncio.gather(prober, return_exceptions=True)
                cpu = syncer.cpu_seconds() - cpu_before
                after = await syncer.metrics()
                window = time.perf_counter() - started
                after_v = await c.virtual.counters(c.session)
                after_h = await c.host.counters(c.session)
                counted = time.perf_counter() - counted
                reconciles = h.metric(after, "netpol_syncer_reconcile_total") - h.metric(
                    before, "netpol_syncer_reconcile_total"
                )
                unchanged = h.metric(
                    after, "netpol_syncer_reconcile_total", result="unchanged"
                ) - h.metric(before, "netpol_syncer_reconcile_total", result="unchanged")
                virtual_writes = h.writes(before_v, after_v)
                host_writes = h.writes(before_h, after_h)
                return {
                    "writes_total": sum(virtual_writes.values()) + sum(host_writes.values()),
                    "virtual_writes": virtual_writes,
                    "host_writes": host_writes,
                    "virtual_requests": _all_requests(before_v, after_v),
                    "host_requests": _all_requests(before_h, after_h),
                    "syncer_api_requests": h.api_delta(before, after),
                    "reconciles": int(reconciles),
                    "reconciles_unchanged": int(unchanged),
                    "syncer_window_s": round(window, 2),
                    "server_window_s": round(counted, 2),
                    "syncer_cpu_seconds": round(cpu, 3),
                    "syncer_cpu_percent": round(100 * cpu / args.duration, 2),
                    "rss_kB": syncer.rss()["VmRSS_kB"],
                    "healthz_probes": len(probes),
                    "healthz_p50_ms": h.rounded(h.percentile(probes, 50), 2),
                    "healthz_p99_ms": h.rounded(h.percentile(probes, 99), 2),
                    "healthz_max_ms": h.rounded(max(probes, default=0.0), 2),
                }

        runs = await h.repeat(args.repeat, once)
    med = h.medians(
        runs,
        ("writes_total", "reconciles", "syncer_cpu_percent", "rss_kB", "healthz_max_ms"),
    )
    counted_by = (
        "kubesim request counters (server side), all resources"
        if args.backend == "kubesim"
        else "apiserver_request_total (server side) for " + ", ".join(sorted(h.REAL_RESOURCES))
    )
    return {
        "parameters": {
            "policies": args.policies,
            "duration_s": args.duration,
            "repeat": args.repeat,
            "runs_note": "run 1's syncer converges into an empty host; later runs start a fresh "
            "syncer against the in-sync host; each waits until settled, then the window",
            "syncer": h.syncer_parameters(args.workers, args.resync_period, "info"),
            "counted_by": counted_by,
        },
        "runs": runs,
        "median": med,
        "target": {"writes_total": 0},
        "met": all(run["writes_total"] == 0 for run in runs),
    }


async def _probe(syncer: h.SyncerProcess, out: list[float]) -> None:
    """GET /healthz every 100 ms; each response time in ms shows how responsive the loop is."""
    while True:
        started = time.perf_counter()
        await syncer.ready()  # /readyz: answered by the same event loop, no API call
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.1)


def _all_requests(before: h.Counts, after: h.Counts) -> dict[str, int]:
    out = {f"{v} {r}": n - before.get((v, r), 0) for (v, r), n in after.items()}
    return {k: n for k, n in sorted(out.items()) if n}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds without changes (default 60 at 10,000 policies, scaled down with N)",
    )
    parser.add_argument(
        "--resync-period",
        type=float,
        default=None,
        help="syncer resync period (default a third of the window)",
    )


def _defaults(args: argparse.Namespace) -> None:
    if args.duration is None:
        args.duration = h.scaled(60.0, args.policies, minimum=3.0)
    if args.resync_period is None:
        args.resync_period = args.duration / 3


def _summary(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    med = report["median"]
    return [
        f"steady state: {args.policies} policies, {args.duration:g} s idle, "
        f"resync every {args.resync_period:g} s, {args.repeat} run(s), {args.backend}",
        f"  writes (both servers)  {med['writes_total']:g}  (target 0: "
        f"{'met' if report['met'] else 'MISSED'})",
        f"  no-op reconciles       {med['reconciles']:g}",
        f"  syncer CPU             {med['syncer_cpu_percent']:g} %",
        f"  slowest probe answer   {med['healthz_max_ms']:g} ms",
    ]


def main(argv: list[str]) -> int:
    return h.run(
        argv,
        name="steady",
        doc=__doc__,
        measure=_measure,
        summary=_summary,
        options=_options,
        defaults=_defaults,
    )
