"""Latency: virtual write -> host write, p50/p99 at a steady change rate (target p99 <= 50 ms).

``python -m bench latency [--policies N] [--rate R] [--duration S] [--repeat K] [--json]``

The syncer runs as its own ``netpol-syncer run`` process against two kubesim processes and first
converges N policies. This process then opens its own WATCH on the host copies and drives
``--rate`` changes per second (default 100) for ``--duration`` seconds (20 at 10,000 policies,
scaled down with N): each change is a merge PATCH of one virtual policy's annotation
``bench.netpol-syncer.io/seq`` to a fresh sequence number, keys spread over all N policies
(stride 7919, so consecutive changes hit different keys and a key is changed again only after
N others). The syncer copies the annotation to the host copy, so the host watch event that
carries sequence number ``i`` is the host write for change ``i``.

Measured externally, on one monotonic clock: ``latency = host watch event received -
virtual PATCH sent`` (``from_ack`` variants start at the PATCH response instead). Reported
with the syncer's own ``netpol_syncer_sync_latency_seconds`` histogram over the same window
(quantiles interpolated inside its buckets, and the share of writes under 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import _harness as h
from translate import markers

TARGET_P99 = 0.050
STRIDE = 7919


async def _watch_host(
    session: aiohttp.ClientSession,
    host: h.SimServer,
    seen: dict[int, float],
    opened: asyncio.Event,
) -> None:
    """Record when each sequence number first appears on a host copy."""
    url = host.url + h.collection(h.HOST_NAMESPACE)
    selector = f"{markers.MANAGED_BY}={h.VCLUSTER}"
    params = {"labelSelector": selector, "limit": "1"}
    async with session.get(url, params=params, **host.http) as response:
        rv = (await response.json())["metadata"]["resourceVersion"]
    watch = {
        "watch": "true",
        "labelSelector": selector,
        "resourceVersion": rv,
        "timeoutSeconds": "3600",
    }
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with session.get(url, params=watch, timeout=timeout, **host.http) as response:
        opened.set()
        async for line in response.content:
            received = time.perf_counter()
            if not line.strip():
                continue
            event = json.loads(line)
            annotations = (event.get("object") or {}).get("metadata", {}).get("annotations") or {}
            seq = annotations.get(h.SEQ_ANNOTATION)
            if seq is not None and event.get("type") == "MODIFIED":
                seen.setdefault(int(seq), received)


async def _drive(
    session: aiohttp.ClientSession,
    virtual: h.SimServer,
    policies: int,
    rate: float,
    duration: float,
    first_seq: int,
) -> tuple[dict[int, float], dict[int, float], float]:
    """Send ``rate * duration`` PATCHes on schedule; returns send times, ack times, real rate."""
    sent: dict[int, float] = {}
    acked: dict[int, float] = {}
    stride = STRIDE if math.gcd(STRIDE, policies) == 1 else 1
    total = round(rate * duration)
    headers = {**virtual.http.get("headers", {}), "Content-Type": "application/merge-patch+json"}
    options = {**virtual.http, "headers": headers}

    async def change(seq: int) -> None:
        i = (seq * stride) % policies
        policy = h.virtual_policy(i)["metadata"]
        url = virtual.url + h.collection(policy["namespace"]) + "/" + policy["name"]
        body = json.dumps({"metadata": {"annotations": {h.SEQ_ANNOTATION: str(seq)}}}).encode()
        sent[seq] = time.perf_counter()
        async with session.patch(url, data=body, **options) as response:
            await response.read()
            acked[seq] = time.perf_counter()
            if response.status != 200:
                raise RuntimeError(f"PATCH {url}: {response.status}")

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(change(first_seq + n)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return sent, acked, total / elapsed if elapsed else 0.0


def _stats(values: list[float]) -> dict[str, float | None]:
    ms = [v * 1000 for v in values]
    return {
        "p50_ms": h.rounded(h.percentile(ms, 50), 2),
        "p90_ms": h.rounded(h.percentile(ms, 90), 2),
        "p99_ms": h.rounded(h.percentile(ms, 99), 2),
        "max_ms": h.rounded(max(ms), 2) if ms else None,
        "mean_ms": h.rounded(sum(ms) / len(ms), 2) if ms else None,
    }


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
                seen: dict[int, float] = {}
                opened = asyncio.Event()
                watcher = asyncio.create_task(_watch_host(c.session, c.host, seen, opened))
                await asyncio.wait_for(opened.wait(), 30)
                before = await syncer.metrics()
                cpu_before = syncer.cpu_seconds()
                first_seq = index * 1_000_000
                sent, acked, achieved = await _drive(
                    c.session, c.virtual, args.policies, args.rate, args.duration, first_seq
                )
                cpu = syncer.cpu_seconds() - cpu_before
                await h.wait_for(
                    functools.partial(_all_seen, sent, seen), within=30.0, what="host writes"
                )
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
                after = await syncer.metrics()
            latencies = [seen[s] - t for s, t in sent.items() if s in seen]
            from_ack = [seen[s] - acked[s] for s in sent if s in seen]
            virtual_rtt = [acked[s] - sent[s] for s in sent]
            buckets = h.histogram_delta(
                h.histogram(before, "netpol_syncer_sync_latency_seconds"),
                h.histogram(after, "netpol_syncer_sync_latency_seconds"),
            )
            total = buckets[-1][1] if buckets else 0.0
            under_50 = dict(buckets).get(0.05, 0.0)
            internal = {
                "count": int(total),
                "p50_ms": _ms(h.histogram_quantile(buckets, 0.50)),
                "p99_ms": _ms(h.histogram_quantile(buckets, 0.99)),
                "share_le_50ms": round(under_50 / total, 4) if total else None,
            }
            return {
                "changes": len(sent),
                "achieved_rate": round(achieved, 2),
                "host_writes_seen": len(latencies),
                **_stats(latencies),
                "from_ack": _stats(from_ack),
                "virtual_patch_rtt": _stats(virtual_rtt),
                "syncer_histogram": internal,
                "syncer_cpu_percent": round(100 * cpu / args.duration, 1),
            }

        runs = await h.repeat(args.repeat, once)
    med = h.medians(runs, ("p50_ms", "p90_ms", "p99_ms", "max_ms"))
    med["syncer_histogram_p50_ms"] = h.median(r["syncer_histogram"]["p50_ms"] for r in runs)
    med["syncer_histogram_p99_ms"] = h.median(r["syncer_histogram"]["p99_ms"] for r in runs)
    med["syncer_cpu_percent"] = h.median(r["syncer_cpu_percent"] for r in runs)
    return {
        "parameters": {
            "policies": args.policies,
            "rate_per_s": args.rate,
            "duration_s": args.duration,
            "repeat": args.repeat,
            "change": f"merge PATCH of annotation {h.SEQ_ANNOTATION}, keys spread by stride",
            "measured": "host WATCH event received minus virtual PATCH sent, in this process",
            "syncer": h.syncer_parameters(args.workers, args.resync_period, "info"),
        },
        "runs": runs,
        "median": med,
        "target": {"p99_ms": TARGET_P99 * 1000},
        "met": med["p99_ms"] is not None and med["p99_ms"] <= TARGET_P99 * 1000,
    }


def _all_seen(sent: dict[int, float], seen: dict[int, float]) -> bool:
    return all(s in seen for s in sent)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=100.0, help="changes per second")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of changes (default 20 at 10,000 policies, scaled down with N)",
    )
    parser.add_argument(
        "--resync-period",
        type=float,
        default=300.0,
        help="syncer resync period (default 300, the production default: no resync in the "
        "window; a shorter one shows the latency of changes queued behind a resync)",
    )


def _defaults(args: argparse.Namespace) -> None:
    if args.duration is None:
        args.duration = h.scaled(20.0, args.policies, minimum=2.0)


def _summary(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    med = report["median"]
    return [
        f"latency at {args.rate:g} changes/s for {args.duration:g} s over {args.policies} "
        f"policies, {args.repeat} run(s), {args.backend}",
        f"  external  p50 {med['p50_ms']} ms  p99 {med['p99_ms']} ms  max {med['max_ms']} ms",
        f"  syncer histogram  p50 ~{med['syncer_histogram_p50_ms']} ms  "
        f"p99 ~{med['syncer_histogram_p99_ms']} ms",
        f"  target p99 <= {TARGET_P99 * 1000:g} ms: {'met' if report['met'] else 'MISSED'}",
    ]


def main(argv: list[str]) -> int:
    return h.run(
        argv,
        name="latency",
        doc=__doc__,
        measure=_measure,
        summary=_summary,
        options=_options,
        defaults=_defaults,
    )
