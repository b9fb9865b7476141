"""Fault campaign: the real ``netpol-syncer run`` processes through everything a cluster does.

Two replicas of ``netpol-syncer run --leader-elect`` (separate processes, as in production) sync
between two kubesim servers while policies across several namespaces are created, updated and
deleted, and the servers misbehave on a fixed, seeded schedule:

1. 5% of host NetworkPolicy writes fail with 500 for the whole churn;
2. a burst of 429s with ``Retry-After``;
3. repeated watch drops on both sides;
4. history compaction on both sides followed by a drop, so every watch resumes into 410 Gone;
5. a host API restart;
6. a virtual API outage (20 s; 8 s in ``--quick``);
7. ``kill -9`` of the leader in the middle of a burst (it is started again as a standby);
8. a leader failover onto a standby whose virtual watch is stalled (a half-open connection:
   open, silent), while the leader synced policies that standby never saw; the leader is
   killed with ``-9`` and the standby takes over;
9. out-of-band edits of host copies: a widened rule and a deleted copy.

The servers run in this process, so a single observer subscribed to the host's storage sees
every host change at the moment it happens, together with the virtual state of that moment.
Afterwards the campaign checks (each reported as pass/fail):

- ``converged_within_15s``: once the faults and the churn have stopped, the host copies equal
  the translation (with the same patches) of the virtual state within 15 s;
- ``converged_after_each_fault``: the same after each scenario, with the churn paused;
- ``no_live_copy_deleted``: no host copy was deleted while the virtual object it copies existed;
- ``foreign_untouched``: host policies the syncer does not own kept their resourceVersion and
  saw no event;
- ``never_unscoped``: every version of a copy that ever reached the host selects only this
  virtual cluster's pods (checked here independently of the syncer's own checks);
- ``tampering_repaired``: the widened rule reverted and the deleted copy recreated within one
  resync period;
- ``healthy_at_end``: both replicas answer ``/healthz`` with 200 once everything recovered;
- ``no_unexpected_exit``: no replica ever exited unless killed on purpose; SIGTERM at the end
  exits 0.

``python -m bench chaos --json`` prints one JSON object; ``--quick`` (60 policies, shorter
outage) is the CI smoke size. Every loop here has a count and a deadline; the servers listen on
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp

from bench import _harness as h
from bench._chaos_campaign import Campaign, Plan
from bench._chaos_replicas import Replica
from bench._chaos_world import (
    CONVERGE_LIMIT,
    CONVERGE_OBSERVE,
    NETPOLS,
    SCENARIOS,
    WRITE_VERBS,
    Json,
    rounded,
)
from kubesim import KubeSim
from kubesim.server import DEFAULT_NAMESPACES

__all__ = ["Plan", "run_campaign"]


async def run_campaign(plan: Plan, work: Path) -> Json:
    """Run the whole campaign once and return the report (``report["ok"]``: every check)."""
    # The servers report clients that vanish mid-request (restarts, kills): to a file.
    server_log = logging.getLogger("kubesim")
    handler = logging.FileHandler(work / "kubesim.log")
    server_log.addHandler(handler)
    server_log.propagate = False
    try:
        return await _campaign(plan, work)
    finally:
        server_log.removeHandler(handler)
        server_log.propagate = True
        handler.close()


async def _campaign(plan: Plan, work: Path) -> Json:
    async with (
        KubeSim(bookmark_interval=1.0) as virtual,
        KubeSim(bookmark_interval=1.0, namespaces=[*DEFAULT_NAMESPACES, h.HOST_NAMESPACE]) as host,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
    ):
        c = Campaign(plan, work, virtual, host)
        c.seed()
        a, b = c.replica("a", session), c.replica("b", session)
        try:
            return await _run(c, a, b)
        except Exception as exc:  # a campaign that breaks still reports what it saw
            return {
                "benchmark": "chaos",
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "timeline": c.timeline,
                "violations": {
                    "live_copies_deleted": c.observer.live_deletes[:20],
                    "unscoped": c.observer.unscoped[:20],
                    "unexpected_exits": (a.unexpected + b.unexpected)[:20],
                },
                "logs": {r.tag: str(r.log_path) for r in (a, b)},
            }
        finally:
            for replica in (a, b):
                with contextlib.suppress(Exception):
                    await replica.terminate()


async def _run(c: Campaign, a: Replica, b: Replica) -> Json:
    plan = c.plan
    await a.start()
    await c.leader(within=60)
    await b.start()
    initial, _ = await c.wait_converged(60)
    c.note("initial sync", seconds=rounded(initial))

    write_failures = c.host.faults.fail(
        verb=list(WRITE_VERBS), resource=NETPOLS, status=500, probability=0.05
    )
    c.note("5% of host writes fail with 500 from now on")
    stop, running = asyncio.Event(), asyncio.Event()
    running.set()
    churn = asyncio.create_task(
        c.workload.churn(stop, running, pause=plan.churn_pause, limit=100_000)
    )
    after: dict[str, float | None] = {}
    scenarios: dict[str, Callable[[], Awaitable[None]]] = {
        "drops": lambda: c.drops(times=3, every=1.0),
        "429": c.too_many_requests,
        "compaction": c.compaction,
        "restart": c.host_restart,
        "more-drops": lambda: c.drops(times=2, every=0.5),
        "outage": c.virtual_outage,
        "kill": c.kill_mid_burst,
        "failover": c.failover_with_stalled_standby,
    }
    try:
        for name, scenario in scenarios.items():
            if name in plan.skip:
                continue
            await scenario()
            running.clear()  # the churn pauses: how long until the host has caught up?
            seconds, _ = await c.wait_converged(CONVERGE_LIMIT)
            after[name] = rounded(seconds)
            running.set()
        while c.workload.remaining > 0:
            await c.workload.burst(min(20, c.workload.remaining))
    finally:
        stop.set()
        running.set()
        await churn
        c.faults["host_write_500"] = write_failures.hits
        write_failures.remove()
    c.note("faults and churn end")
    observe = CONVERGE_LIMIT + (5.0 if plan.quick else CONVERGE_OBSERVE)
    converge, problems = await c.wait_converged(observe)
    tampering: Json = {"repaired_s": None, "problems": ["not reached"]}
    if converge is not None:
        tampering = await c.tamper()
    await asyncio.sleep(0.5)  # any late write would still reach the observer

    health = {r.tag: await r.healthz() for r in (a, b)}
    rss = {r.tag: r.rss() for r in (a, b)}
    for r in (a, b):
        await r.scrape()
    metrics = {r.tag: r.last_metrics for r in (a, b)}
    exit_codes = {r.tag: await r.terminate() for r in (a, b)}
    foreign_now = {
        name: (c.host.store.find(NETPOLS, h.HOST_NAMESPACE, name) or {})
        .get("metadata", {})
        .get("resourceVersion")
        for name in c.observer.foreign
    }
    foreign_changed = [n for n, rv in foreign_now.items() if rv != c.observer.foreign[n]]
    unexpected = a.unexpected + b.unexpected
    unexpected += [f"replica {t} exited with {code} on SIGTERM" for t, code in exit_codes.items()
                   if code not in (0, None)]  # fmt: skip
    counts = c.host.counters.snapshot()
    responses = c.host.counters.responses()
    checks = {
        "converged_within_15s": converge is not None and converge <= CONVERGE_LIMIT,
        "converged_after_each_fault": all(v is not None for v in after.values()),
        "no_live_copy_deleted": not c.observer.live_deletes,
        "foreign_untouched": not foreign_changed and not c.observer.foreign_touched,
        "never_unscoped": not c.observer.unscoped,
        "tampering_repaired": tampering["repaired_s"] is not None,
        "no_unexpected_exit": not unexpected,
        "healthy_at_end": all(code == 200 for code in health.values()),
        "stalled_standby_took_over": bool(c.failover.get("stalled_streams"))
        and "new_leader" in c.failover,
    }
    return {
        "benchmark": "chaos",
        "policies": plan.policies,
        "seed": plan.seed,
        "quick": plan.quick,
        "ok": all(checks.values()),
        "checks": checks,
        "duration_s": rounded(time.monotonic() - c.started),
        "time_to_converge_s": rounded(converge),
        "converge_after_fault_s": after,
        "converge_after_fault_note": "churn paused after each scenario, 5% write failures on; "
        "null: not within 15 s",
        "initial_sync_s": rounded(initial),
        "faults": c.faults,
        "timeline": c.timeline,
        "failover": c.failover,
        "tampering": tampering,
        "workload": dict(c.workload.counts, alive_at_end=len(c.workload.alive)),
        "host_writes": {v: counts.get((v, NETPOLS), 0) for v in WRITE_VERBS},
        "host_write_errors": {
            f"{verb} {code}": n
            for (verb, res, code), n in sorted(responses.items())
            if res == NETPOLS and verb in WRITE_VERBS and code >= 400
        },
        "host_events": c.observer.events,
        "deletes": {
            "requests": counts.get(("delete", NETPOLS), 0),
            "observed": c.observer.events.get("DELETED", 0),
            "of_live_copies": len(c.observer.live_deletes),
        },
        "retries": {
            t: int(h.metric(s, "netpol_syncer_queue_retries_total")) for t, s in metrics.items()
        },
        "retries_note": "per replica since its last start (a killed process loses its counters)",
        "watch_restarts": {
            t: int(h.metric(s, "netpol_syncer_watch_restarts_total")) for t, s in metrics.items()
        },
        "rss_kB": rss,
        "healthz_at_end": health,
        "replicas": {
            r.tag: {"starts": r.starts, "kill9": r.kills, "exit_codes": r.exit_codes}
            for r in (a, b)
        },
        "violations": {
            "live_copies_deleted": c.observer.live_deletes[:20],
            "unscoped": c.observer.unscoped[:20],
            "foreign_touched": (c.observer.foreign_touched + foreign_changed)[:20],
            "unexpected_exits": unexpected[:20],
            "not_converged": problems[:20],
        },
        "logs": {r.tag: str(r.log_path) for r in (a, b)},
        "environment": h.environment(),
    }


def plan_from(args: argparse.Namespace) -> Plan:
    policies = args.policies if args.policies is not None else (60 if args.quick else 300)
    return Plan(
        policies=policies,
        seed=args.seed,
        outage=args.outage if args.outage is not None else (8.0 if args.quick else 20.0),
        churn_pause=0.05 if args.quick else 0.02,
        quick=args.quick,
        skip=frozenset(args.skip),
    )


def _summary(report: Json) -> Iterator[str]:
    if "error" in report:
        yield f"chaos campaign broke: {report['error']}"
        yield json.dumps(report, indent=1)
        return
    yield f"chaos campaign: {report['policies']} policies, seed {report['seed']}"
    yield f"  duration {report['duration_s']} s, converged in {report['time_to_converge_s']} s"
    for name, ok in report["checks"].items():
        yield f"  {'PASS' if ok else 'FAIL'} {name}"
    for kind, found in report["violations"].items():
        for line in found[:5]:
            yield f"    {kind}: {line}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench chaos", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--policies", type=int, default=None, help="policies created (300)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the workload and faults")
    parser.add_argument("--quick", action="store_true", help="CI size: 60 policies, 8 s outage")
    parser.add_argument("--outage", type=float, default=None, help="virtual outage seconds")
    parser.add_argument(
        "--skip", action="append", default=[], choices=SCENARIOS, help="leave a scenario out"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep logs in this directory")
    args = parser.parse_args(argv)
    plan = plan_from(args)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(run_campaign(plan, args.keep))
    else:
        with h.workdir() as work:
            report = asyncio.run(run_campaign(plan, Path(work)))
    h.emit(report, as_json=args.json, summary=_summary(report))
    return 0 if report["ok"] else 1
