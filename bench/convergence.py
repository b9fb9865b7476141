"""Convergence: N virtual policies synced into an empty host, against a bare client's POSTs.

``python -m bench convergence [--policies N] [--workers W] [--repeat R] [--json]``

Each run starts a fresh host kubesim process for each side, both beside one virtual kubesim
process seeded with N policies (concurrent POSTs, before anything is timed):

- syncer: the real controller (``running.Syncer``, production defaults except client-side rate
  limits, which are lifted) in this process, timed from ``Syncer.run`` until every virtual key
  has a matching host copy (polled every 5 ms), which includes connecting, both initial LISTs,
  translation and the N creates;
- baseline: a bare kubernetes-asyncio client (``NetworkingV1Api.create_namespaced_network_policy``
  with ``_preload_content=False``, i.e. no model deserialization) with W requests in flight
  POSTing the very objects the syncer would write, translated beforehand, timed from loading
  the kubeconfig to the last response.

The figure of merit is ``ratio_vs_tuned_baseline``, syncer/tuned baseline (target <= 1.25):
the tuned client has the syncer's one connection fix, so the ratio measures the controller
alone; ``ratio`` (against the untuned client) is reported too. The order of the sides
alternates between runs. Server-side counters confirm the syncer wrote exactly N creates.
Each side's CPU time in this process (``time.process_time``, the syncer's includes its
initial LISTs) and the host server's are reported too: on a shared machine they vary less
than wall time, and ``cpu_ratio`` shows whether a miss is CPU or waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any, cast

import aiohttp
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config

import patches
import translate
from bench import _harness as h
from syncer.commands import running
from syncer.pipeline import caching
from syncer.runtime import clients, logs

TARGET_RATIO = 1.25


async def _syncer_side(
    virtual: h.Server, host: h.Server, count: int, workers: int, resync: float
) -> dict[str, Any]:
    config = h.settings_for(virtual, host, workers=workers, resync_period=resync)
    syncer = running.Syncer(config)
    stop = asyncio.Event()
    marks: dict[str, float] = {}

    def converged() -> bool:
        ctl = syncer.controller
        if ctl is None:
            return False
        now = time.perf_counter()
        if "lists_done" not in marks and ctl.started.is_set():
            marks["lists_done"] = now
        return len(ctl.reconciler.in_sync) >= count

    started = time.perf_counter()
    task = asyncio.create_task(syncer.run(stop))
    try:
        await h.wait_for(converged, within=600.0, what="convergence", interval=0.005)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        code = await task
    assert syncer.controller is not None
    return {
        "seconds": elapsed,
        "lists_seconds": marks.get("lists_done", started) - started,
        "exit_code": code,
        "virtual_lists": syncer.controller.virtual_informer.lists,
        "host_lists": syncer.controller.host_informer.lists,
    }


async def _baseline_side(
    host: h.Server, objects: list[h.Json], concurrency: int, *, tuned: bool = False
) -> float:
    """``tuned``: the client gets the syncer's one connection fix too (proxy and .netrc read
    once, not per request), so the ratio against it measures the controller alone."""
    started = time.perf_counter()
    configuration = k8s.Configuration()
    await k8s_config.load_kube_config(
        config_file=str(host.kubeconfig), client_configuration=configuration, persist_config=False
    )
    async with k8s.ApiClient(configuration) as api_client:
        if tuned:
            await clients.read_environment_once(api_client, configuration)
        api = k8s.NetworkingV1Api(api_client)
        pending = iter(objects)

        async def worker() -> None:
            for obj in pending:
                # With _preload_content=False the generated method returns the raw response.
                response = cast(
                    aiohttp.ClientResponse,
                    await api.create_namespaced_network_policy(
                        h.HOST_NAMESPACE, cast(Any, obj), _preload_content=False
                    ),
                )
                if response.status != 201:
                    raise RuntimeError(f"baseline POST: {response.status} {await response.text()}")
                await response.read()
                response.release()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def _translated(virtual: h.Server, target: translate.Target) -> list[h.Json]:
    """Exactly what the syncer would POST for each virtual policy (translate + no patches)."""
    async with h.client_session() as session:
        listed = await h.list_policies(session, virtual, None)
    desire = running.desire_for(target, patches.PatchList())
    return [
        dict(desire(cast(translate.NetworkPolicy, caching.strip_virtual(obj))))
        for obj in listed["items"]
    ]


async def _sides(args: argparse.Namespace, work: Path) -> tuple[list[dict[str, Any]], float]:
    runs: list[dict[str, Any]] = []
    async with (
        h.server(args.backend, "virtual", work) as virtual,
        h.client_session() as session,
    ):
        seed_seconds = await h.seed_virtual(session, virtual, args.policies)
        target = translate.Target(vcluster=h.VCLUSTER, host_namespace=h.HOST_NAMESPACE)
        objects = await _translated(virtual, target)
        for index in range(args.repeat):
            run: dict[str, Any] = {}
            sides = ("baseline", "tuned_baseline", "syncer")
            order = sides if index % 2 == 0 else sides[::-1]
            for side in order:
                async with h.server(args.backend, f"host-{index}-{side}", work) as host:
                    await h.create_namespaces(session, host, [h.HOST_NAMESPACE])
                    before_v = await virtual.counters(session)
                    before_h = await host.counters(session)
                    cpu_before = time.process_time()
                    server_cpu_before = h.proc_cpu_seconds(host.pid)
                    load = os.getloadavg()[0]
                    if side.endswith("baseline"):
                        run[f"{side}_seconds"] = await _baseline_side(
                            host, objects, args.workers, tuned=side == "tuned_baseline"
                        )
                    else:
                        result = await _syncer_side(
                            virtual, host, args.policies, args.workers, args.resync_period
                        )
                        run["syncer_seconds"] = result["seconds"]
                        run["syncer_lists_seconds"] = result["lists_seconds"]
                        run["syncer_write_seconds"] = result["seconds"] - result["lists_seconds"]
                        run["syncer_exit_code"] = result["exit_code"]
                    run[f"{side}_cpu_seconds"] = time.process_time() - cpu_before
                    run[f"{side}_host_server_cpu_seconds"] = (
                        h.proc_cpu_seconds(host.pid) - server_cpu_before
                    )
                    run[f"{side}_loadavg_1m_before"] = load
                    after_h = await host.counters(session)
                    after_v = await virtual.counters(session)
                    copies = await h.count_host_copies(session, host)
                    if copies != args.policies:
                        raise RuntimeError(
                            f"{side}: {copies} host copies, expected {args.policies}"
                        )
                    run[f"{side}_host_writes"] = h.writes(before_h, after_h)
                    if side == "syncer":
                        run["syncer_virtual_writes"] = h.writes(before_v, after_v)
                        run["syncer_list_requests"] = {
                            "virtual": h.delta(before_v, after_v, "list"),
                            "host": h.delta(before_h, after_h, "list"),
                        }
            run["ratio"] = run["syncer_seconds"] / run["baseline_seconds"]
            run["ratio_vs_tuned_baseline"] = run["syncer_seconds"] / run["tuned_baseline_seconds"]
            run["cpu_ratio"] = run["syncer_cpu_seconds"] / run["baseline_cpu_seconds"]
            run["syncer_policies_per_s"] = args.policies / run["syncer_seconds"]
            run["baseline_policies_per_s"] = args.policies / run["baseline_seconds"]
            runs.append({k: h.rounded(v) if isinstance(v, float) else v for k, v in run.items()})
    return runs, seed_seconds


async def _measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    with (work / "syncer.log").open("w") as sink:
        # The syncer runs in this process: its logs go to a file, as a container's would.
        logs.configure(log_format="json", level=args.log_level, stream=sink)
        try:
            runs, seed_seconds = await _sides(args, work)
        finally:
            logs.reset()
    keys = (
        "ratio",
        "ratio_vs_tuned_baseline",
        "tuned_baseline_seconds",
        "cpu_ratio",
        "syncer_cpu_seconds",
        "baseline_cpu_seconds",
        "syncer_seconds",
        "baseline_seconds",
        "syncer_lists_seconds",
        "syncer_write_seconds",
        "syncer_policies_per_s",
        "baseline_policies_per_s",
    )
    med = h.medians(runs, keys)
    servers = "kubesim" if args.backend == "kubesim" else "kube-apiserver + etcd (kube-testenv)"
    return {
        "parameters": {
            "policies": args.policies,
            "repeat": args.repeat,
            "concurrency": args.workers,
            "seed_seconds": round(seed_seconds, 3),
            "syncer": h.syncer_parameters(args.workers, args.resync_period, args.log_level),
            "servers": f"one {servers} process per cluster; a fresh host each side",
        },
        "runs": runs,
        "median": med,
        "target": {"ratio_vs_tuned_baseline": TARGET_RATIO},
        "met": med["ratio_vs_tuned_baseline"] is not None
        and med["ratio_vs_tuned_baseline"] <= TARGET_RATIO,
    }


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resync-period", type=float, default=300.0, help="syncer resync period (default 300)"
    )
    parser.add_argument(
        "--log-level", default="info", help="syncer log level (default info, as in production)"
    )


def _summary(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    med = report["median"]
    return [
        f"convergence of {args.policies} policies, {args.workers} workers, "
        f"{args.repeat} run(s), {args.backend}",
        f"  syncer    {med['syncer_seconds']:.3f} s  (lists {med['syncer_lists_seconds']:.3f} s)",
        f"  baseline  {med['baseline_seconds']:.3f} s  "
        f"(tuned {med['tuned_baseline_seconds']:.3f} s)",
        f"  ratio     {med['ratio']:.3f}, vs tuned {med['ratio_vs_tuned_baseline']:.3f}  "
        f"(target <= {TARGET_RATIO}: {'met' if report['met'] else 'MISSED'})",
    ]


def main(argv: list[str]) -> int:
    return h.run(
        argv,
        name="convergence",
        doc=__doc__,
        measure=_measure,
        summary=_summary,
        options=_options,
    )
