"""The fault campaign's plan and its running state: the servers, the workload, the replicas,
the faults and the checks, with the helpers the scenarios share."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

import translate
from bench import _harness as h
from bench._chaos_replicas import Replica
from bench._chaos_world import (
    LEASE,
    NAMESPACES,
    NETPOLS,
    PATCHES,
    RESYNC_PERIOD,
    WRITE_VERBS,
    Expectation,
    HostObserver,
    Json,
    Workload,
    _false,
    _foreign_objects,
    host_copies,
    rounded,
)
from kubesim import KubeSim

# -- the campaign --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    policies: int
    seed: int
    outage: float
    churn_pause: float
    quick: bool
    skip: frozenset[str] = frozenset()
    """Scenarios left out (to narrow down a failure): see :data:`SCENARIOS`."""


class Campaign:
    def __init__(self, plan: Plan, work: Path, virtual: KubeSim, host: KubeSim) -> None:
        self.plan = plan
        self.work = work
        self.virtual = virtual
        self.host = host
        self.rng = random.Random(plan.seed)
        self.workload = Workload(virtual, self.rng, plan.policies)
        self.observer = HostObserver(virtual, host)
        self.started = time.monotonic()
        self.timeline: list[Json] = []
        self.faults: Json = {
            "host_write_500": 0,
            "host_429": 0,
            "watch_drops": {"virtual": 0, "host": 0},
            "compactions": 0,
            "host_restarts": 0,
            "virtual_outage_s": plan.outage,
            "kill9": 0,
            "stalled_watches": 0,
            "tampering": 0,
        }
        config_path = work / "vcluster.yaml"
        config_path.write_text(PATCHES, encoding="utf-8")
        self.expectation = Expectation(config_path)
        self.config_path = config_path
        self.replicas: dict[str, Replica] = {}
        self.failover: Json = {}

    def note(self, what: str, **details: Any) -> None:
        self.timeline.append({"at_s": round(time.monotonic() - self.started, 2), "fault": what})
        self.timeline[-1].update(details)

    # -- set-up --

    def seed(self) -> None:
        self.host.faults.seed(self.plan.seed)
        self.virtual.faults.seed(self.plan.seed)
        for namespace in NAMESPACES:
            self.virtual.store.create(h.namespace_object(namespace))
        for obj in _foreign_objects():
            stored = self.host.store.create(obj)
            self.observer.foreign[stored["metadata"]["name"]] = stored["metadata"][
                "resourceVersion"
            ]
        self.host.storage.subscribe(self.host.registry.resolve(NETPOLS), self.observer)
        for _ in range(self.plan.policies // 2):
            self.workload.create()

    def replica(self, tag: str, session: aiohttp.ClientSession) -> Replica:
        virtual_kubeconfig = self.virtual.write_kubeconfig(
            self.work / f"virtual-{tag}.kubeconfig", token=f"replica-{tag}"
        )
        host_kubeconfig = self.host.write_kubeconfig(self.work / "host.kubeconfig")
        args = h.syncer_args(
            virtual_kubeconfig,
            host_kubeconfig,
            self.config_path,
            port=h.free_port(),
            workers=h.DEFAULT_WORKERS,
            resync_period=RESYNC_PERIOD,
        )
        duration, renew, retry = LEASE
        args += [
            "--leader-elect",
            "--leader-elect-lease-duration", duration,
            "--leader-elect-renew-deadline", renew,
            "--leader-elect-retry-period", retry,
        ]  # fmt: skip
        replica = Replica(tag, args, self.work / f"syncer-{tag}.log", session)
        self.replicas[tag] = replica
        return replica

    async def leader(self, *, within: float = 30.0) -> Replica:
        """The replica reporting leadership (waits for one)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for replica in self.replicas.values():
                if replica.running and await replica.leading():
                    return replica
            await asyncio.sleep(0.1)
        raise TimeoutError("no replica became leader")

    async def wait_converged(self, within: float) -> tuple[float | None, list[str]]:
        """Seconds until the host equals the expectation (``None`` if not within ``within``)."""
        started = time.monotonic()
        problems: list[str] = []
        while time.monotonic() - started < within:
            problems = self.expectation.differences(self.virtual, self.host)
            if not problems:
                return time.monotonic() - started, []
            await asyncio.sleep(0.1)
        return None, problems

    # -- faults --

    async def drops(self, times: int, every: float) -> None:
        for _ in range(times):
            await asyncio.sleep(every)
            self.faults["watch_drops"]["virtual"] += self.virtual.faults.drop_watches(NETPOLS)
            self.faults["watch_drops"]["host"] += self.host.faults.drop_watches(NETPOLS)
        self.note("watch drops", times=times)

    async def compaction(self) -> None:
        await self.workload.burst(10)
        self.virtual.faults.compact(NETPOLS)
        self.host.faults.compact(NETPOLS)
        await self.workload.burst(5)
        self.virtual.faults.drop_watches(NETPOLS)
        self.host.faults.drop_watches(NETPOLS)
        self.faults["compactions"] += 2
        self.note("compaction (410) on both sides")

    async def too_many_requests(self) -> None:
        fault = self.host.faults.fail(
            verb=list(WRITE_VERBS), resource=NETPOLS, status=429, retry_after=1, count=20
        )
        await self.workload.burst(30)
        await asyncio.sleep(2.0)
        self.faults["host_429"] += fault.hits
        fault.remove()
        self.note("429 burst with Retry-After: 1", hits=fault.hits)

    async def host_restart(self) -> None:
        await self.host.restart()
        self.faults["host_restarts"] += 1
        self.note("host API restart")

    async def virtual_outage(self) -> None:
        self.note("virtual API outage begins")
        async with self.virtual.outage():
            await self.workload.burst(10, pause=self.plan.outage / 20)
            await asyncio.sleep(self.plan.outage / 2)
        self.note("virtual API outage ends")

    async def kill_mid_burst(self) -> None:
        leader = await self.leader()
        burst = asyncio.create_task(self.workload.burst(40, pause=0.01))
        await asyncio.sleep(0.2)
        await leader.kill9()
        self.faults["kill9"] += 1
        self.note("kill -9 of the leader mid-burst", replica=leader.tag)
        await burst
        await asyncio.sleep(1.0)
        await leader.start()
        self.note("killed replica started again", replica=leader.tag)
        await self.leader()

    async def failover_with_stalled_standby(self) -> None:
        leader = await self.leader()
        standby = next(r for r in self.replicas.values() if r is not leader)
        await h.wait_for_async(
            standby.proc.ready if standby.proc else _false, within=30, what="standby ready"
        )
        stalled = self.virtual.faults.stall_watches(NETPOLS, token=f"replica-{standby.tag}")
        self.faults["stalled_watches"] += stalled
        self.note("standby's virtual watch stalled", replica=standby.tag, streams=stalled)
        unseen = [self.workload.create() for _ in range(min(20, max(5, self.plan.policies // 15)))]
        for _ in range(5):
            self.workload.update()

        def synced() -> bool:
            copies = host_copies(self.host)
            return all(
                translate.host_name(name, namespace, h.VCLUSTER) in copies
                for namespace, name in unseen
                if self.virtual.store.find(NETPOLS, namespace, name) is not None
            )

        with contextlib.suppress(TimeoutError):
            await h.wait_for(synced, within=15, what="the leader to sync the unseen policies")
        self.failover = {"stalled_streams": stalled, "policies_unseen_by_standby": len(unseen)}
        await leader.kill9()
        self.faults["kill9"] += 1
        self.note("kill -9 of the leader; the stalled standby takes over", replica=leader.tag)
        new_leader = await self.leader()
        self.failover["new_leader"] = new_leader.tag
        await leader.start()
        self.note("killed replica started again", replica=leader.tag)

    async def tamper(self) -> Json:
        """Widen one copy and delete another; both must be repaired within one resync."""
        copies = sorted(host_copies(self.host))
        if len(copies) < 2:
            return {"repaired_s": None, "problems": ["too few copies to tamper with"]}
        widened, deleted = copies[0], copies[-1]
        obj = self.host.store.get(NETPOLS, h.HOST_NAMESPACE, widened)
        obj["spec"]["ingress"] = [{}]
        obj["spec"]["egress"] = [{}]
        obj["spec"]["podSelector"] = {"matchLabels": obj["spec"]["podSelector"]["matchLabels"]}
        self.host.store.update(obj)
        self.observer.allowed_deletes.add(deleted)
        self.host.store.delete(NETPOLS, h.HOST_NAMESPACE, deleted)
        self.faults["tampering"] += 2
        self.note("host copies tampered with", widened=widened, deleted=deleted)
        repaired, problems = await self.wait_converged(RESYNC_PERIOD + 2.0)
        return {"widened": widened, "deleted": deleted, "repaired_s": rounded(repaired),
                "problems": problems[:10]}  # fmt: skip
