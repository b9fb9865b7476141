"""Memory: RSS of the syncer with N virtual and N host policies cached (target <= 150 MB).

``python -m bench memory [--policies N] [--repeat R] [--json]``

The syncer runs as its own ``netpol-syncer run`` process against two kubesim processes; its
``VmRSS`` (and peak ``VmHWM``) is read from ``/proc/<pid>/status``:

- ``idle``: started against empty clusters, ready, nothing cached (the import footprint);
- ``after_watch_convergence``: the same process after N virtual policies were created while it
  ran and it wrote the N host copies (caches filled from watch events and write responses);
- ``after_restart`` (``--repeat`` times, medians reported): a fresh process started against the
  synced clusters, after both initial LISTs and N no-op reconciles: N + N objects cached.

Then, in this process, ``tracemalloc`` measures what the caches themselves cost: the same LIST
bodies parsed and stored in ``caching.Store`` objects built as the controller builds them
(``strip_virtual`` plus the host-name index; ``strip_host``), and the reconciler's ``in_sync``
map, reported per object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tracemalloc
from pathlib import Path
from typing import Any

from bench import _harness as h
from syncer.pipeline import caching
from translate import ObjectKey, host_name

TARGET_MB = 150.0


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def _snapshot(syncer: h.SyncerProcess) -> dict[str, float]:
    memory = syncer.rss()
    return {
        "rss_mb": _mb(memory["VmRSS_kB"]),
        "peak_rss_mb": _mb(memory["VmHWM_kB"]),
        "anon_mb": _mb(memory["RssAnon_kB"]),
    }


def _cache_cost(virtual_body: bytes, host_body: bytes) -> dict[str, Any]:
    """Bytes the controller's two stores and in-sync map hold, by ``tracemalloc``."""

    def host_names(obj: caching.Json) -> list[str]:
        meta = obj.get("metadata") or {}
        return [host_name(meta.get("name", ""), meta.get("namespace", ""), h.VCLUSTER)]

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    virtual = caching.Store(strip=caching.strip_virtual, indexers={"host-name": host_names})
    for obj in json.loads(virtual_body)["items"]:
        virtual.upsert(obj)
    gc.collect()
    after_virtual = tracemalloc.get_traced_memory()[0]
    host = caching.Store(strip=caching.strip_host)
    for obj in json.loads(host_body)["items"]:
        host.upsert(obj)
    gc.collect()
    after_host = tracemalloc.get_traced_memory()[0]
    in_sync: dict[ObjectKey, str] = {}
    for key in virtual:
        stored = virtual.get(key) or {}
        in_sync[key] = str(stored["metadata"]["resourceVersion"])
    gc.collect()
    after_in_sync = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    n_virtual, n_host = max(1, len(virtual)), max(1, len(host))
    return {
        "virtual_store_mb": round((after_virtual - base) / 2**20, 2),
        "virtual_bytes_per_object": round((after_virtual - base) / n_virtual),
        "virtual_json_bytes_per_object": round(len(virtual_body) / n_virtual),
        "host_store_mb": round((after_host - after_virtual) / 2**20, 2),
        "host_bytes_per_object": round((after_host - after_virtual) / n_host),
        "host_json_bytes_per_object": round(len(host_body) / n_host),
        "in_sync_bytes_per_key": round((after_in_sync - after_host) / n_virtual),
    }


async def _measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    async with (
        h.server(args.backend, "virtual", work) as virtual,
        h.server(args.backend, "host", work) as host,
        h.client_session() as session,
    ):
        await h.create_namespaces(session, host, [h.HOST_NAMESPACE])
        async with h.syncer_process(
            virtual, host, work, workers=args.workers, resync_period=300.0, tag="first"
        ) as first:
            await first.wait_ready()
            await asyncio.sleep(1.0)
            idle = _snapshot(first)
            await h.seed_virtual(session, virtual, args.policies)
            await first.wait_settled(args.policies)
            await asyncio.sleep(2.0)
            converged = _snapshot(first)

        async def once(index: int) -> dict[str, Any]:
            async with h.syncer_process(
                virtual,
                host,
                work,
                workers=args.workers,
                resync_period=300.0,
                tag=f"restart-{index}",
            ) as syncer:
                await syncer.wait_ready()
                samples = await syncer.wait_settled(args.policies)
                await asyncio.sleep(2.0)
                snap = _snapshot(syncer)
                snap["virtual_cached"] = h.metric(samples, "netpol_syncer_virtual_policies")
                snap["host_cached"] = h.metric(samples, "netpol_syncer_host_policies")
                return snap

        restarts = await h.repeat(args.repeat, once)
        virtual_body = await h.read_policies(session, virtual, None)
        selector = {"labelSelector": f"vcluster.loft.sh/managed-by={h.VCLUSTER}"}
        host_body = await h.read_policies(session, host, h.HOST_NAMESPACE, selector)
    cache = _cache_cost(virtual_body, host_body)
    med = h.medians(restarts, ("rss_mb", "peak_rss_mb", "anon_mb"))
    worst = max([converged["rss_mb"], *(r["rss_mb"] for r in restarts)])
    return {
        "parameters": {
            "policies": args.policies,
            "repeat": args.repeat,
            "syncer": h.syncer_parameters(args.workers, 300.0, "info"),
        },
        "idle": idle,
        "after_watch_convergence": converged,
        "after_restart_runs": restarts,
        "median": med,
        "cache_cost_tracemalloc": cache,
        "target": {"rss_mb": TARGET_MB},
        "met": worst <= TARGET_MB,
    }


def _summary(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    med, cache = report["median"], report["cache_cost_tracemalloc"]
    return [
        f"memory with {args.policies} virtual + {args.policies} host policies cached, "
        f"{args.backend}",
        f"  idle (nothing cached)       {report['idle']['rss_mb']} MB",
        f"  after convergence (watch)   {report['after_watch_convergence']['rss_mb']} MB "
        f"(peak {report['after_watch_convergence']['peak_rss_mb']} MB)",
        f"  after restart (LIST), median {med['rss_mb']} MB (peak {med['peak_rss_mb']} MB)",
        f"  caches: virtual {cache['virtual_bytes_per_object']} B/object, host "
        f"{cache['host_bytes_per_object']} B/object",
        f"  target <= {TARGET_MB:g} MB: {'met' if report['met'] else 'MISSED'}",
    ]


def main(argv: list[str]) -> int:
    return h.run(argv, name="memory", doc=__doc__, measure=_measure, summary=_summary)
