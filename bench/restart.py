"""Restart: N policies already in sync; time to ready, writes (target 0), LISTs per cluster.

``python -m bench restart [--policies N] [--repeat R] [--json]``

A first ``netpol-syncer run`` process converges N policies into an empty host and is stopped
(SIGTERM). Then, ``--repeat`` times, a new process is started against the unchanged servers and
measured:

- ``ready_s``: from spawn to the first ``/readyz`` 200 (polled every 10 ms; includes the
  interpreter start and imports), and ``ready_after_start_s``: from the process's ``starting``
  log line to its ``caches synced`` line (the two initial LISTs alone);
- ``in_sync_s``: from spawn until ``netpol_syncer_synced_policies`` reaches N (every key
  reconciled as unchanged);
- writes on both servers (server-side counters, all resources; target 0);
- LIST requests per cluster for networkpolicies, counted by the servers as HTTP requests (the
  informer lists in one request and parses the response object by object), and the syncer's
  own count of them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import time
from pathlib import Path
from typing import Any

from bench import _harness as h


def _log_seconds(events: list[h.Json], first: str, second: str) -> float | None:
    """Seconds between the first log events whose messages start with ``first``/``second``."""
    stamps: dict[str, float] = {}
    for event in events:
        name = str(event.get("event", ""))
        for prefix in (first, second):
            if name.startswith(prefix) and prefix not in stamps and "timestamp" in event:
                stamps[prefix] = _parse_time(event["timestamp"])
    if first in stamps and second in stamps:
        return stamps[second] - stamps[first]
    return None


def _parse_time(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def _measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    async with h.clusters(work, args.policies, args.backend) as c:
        async with h.syncer_process(
            c.virtual, c.host, work, workers=args.workers, resync_period=300.0, tag="first"
        ) as first:
            await first.wait_ready()
            await first.wait_settled(args.policies)
        if await h.count_host_copies(c.session, c.host) != args.policies:
            raise RuntimeError("the first syncer did not converge")

        async def once(index: int) -> dict[str, Any]:
            before_v = await c.virtual.counters(c.session)
            before_h = await c.host.counters(c.session)
            spawn_wall = time.time()
            async with h.syncer_process(
                c.virtual,
                c.host,
                work,
                workers=args.workers,
                resync_period=300.0,
                tag=f"restart-{index}",
            ) as syncer:
                ready = await syncer.wait_ready()
                await h.wait_for_async(
                    functools.partial(_all_in_sync, syncer, args.policies),
                    within=300.0,
                    what="all keys in sync",
                    interval=0.01,
                )
                in_sync = time.perf_counter() - syncer.spawned_at
                samples = await syncer.wait_settled(args.policies)
                await asyncio.sleep(1.0)
                after_v = await c.virtual.counters(c.session)
                after_h = await c.host.counters(c.session)
                rss = syncer.rss()["VmRSS_kB"]
            events = syncer.log_events()
            virtual_writes = h.writes(before_v, after_v)
            host_writes = h.writes(before_h, after_h)
            api = h.api_requests(samples)
            started_at = next(
                (
                    _parse_time(e["timestamp"])
                    for e in events
                    if e.get("event") == "starting" and "timestamp" in e
                ),
                None,
            )
            return {
                "ready_s": round(ready, 4),
                "ready_after_start_s": h.rounded(_log_seconds(events, "starting", "caches synced")),
                "process_start_s": h.rounded(
                    None if started_at is None else started_at - spawn_wall
                ),
                "in_sync_s": round(in_sync, 4),
                "writes_total": sum(virtual_writes.values()) + sum(host_writes.values()),
                "virtual_writes": virtual_writes,
                "host_writes": host_writes,
                "list_requests_virtual": h.delta(before_v, after_v, "list"),
                "list_requests_host": h.delta(before_h, after_h, "list"),
                "syncer_list_requests": {k: v for k, v in api.items() if " list " in f" {k} "},
                "watch_requests": h.delta(before_v, after_v, "watch")
                + h.delta(before_h, after_h, "watch"),
                "rss_kB": rss,
            }

        runs = await h.repeat(args.repeat, once)
    keys = (
        "ready_s",
        "ready_after_start_s",
        "process_start_s",
        "in_sync_s",
        "writes_total",
        "list_requests_virtual",
        "list_requests_host",
    )
    med = h.medians(runs, keys)
    return {
        "parameters": {
            "policies": args.policies,
            "repeat": args.repeat,
            "syncer": h.syncer_parameters(args.workers, 300.0, "info"),
            "counted_by": "server-side request counters; syncer metrics for comparison",
        },
        "runs": runs,
        "median": med,
        "target": {"writes_total": 0, "list_requests_per_cluster": 1},
        "met": {
            "writes": all(r["writes_total"] == 0 for r in runs),
            "list_requests_per_cluster": all(
                r["list_requests_virtual"] <= 1 and r["list_requests_host"] <= 1 for r in runs
            ),
        },
    }


async def _all_in_sync(syncer: h.SyncerProcess, expected: int) -> bool:
    try:
        samples = await syncer.metrics()
    except Exception:  # not listening yet
        return False
    return h.metric(samples, "netpol_syncer_synced_policies") >= expected


def _summary(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    med = report["median"]
    met = report["met"]
    return [
        f"restart with {args.policies} policies in sync, {args.repeat} run(s), {args.backend}",
        f"  spawn -> ready      {med['ready_s']:.3f} s "
        f"(starting -> caches synced {med['ready_after_start_s']} s)",
        f"  spawn -> all in sync {med['in_sync_s']:.3f} s",
        f"  writes              {med['writes_total']:g} (target 0: "
        f"{'met' if met['writes'] else 'MISSED'})",
        f"  LIST requests       virtual {med['list_requests_virtual']:g}, host "
        f"{med['list_requests_host']:g} (target 1 each: "
        f"{'met' if met['list_requests_per_cluster'] else 'MISSED'})",
    ]


def main(argv: list[str]) -> int:
    return h.run(argv, name="restart", doc=__doc__, measure=_measure, summary=_summary)
