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
import copy
import json
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

import translate
from bench import _harness as h
from kubesim import KubeSim
from kubesim.server import DEFAULT_NAMESPACES
from kubesim.versions import Event
from syncer.commands import running
from syncer.configuration import config
from translate import markers

Json = dict[str, Any]

NETPOLS: Final = "networkpolicies"
TARGET: Final = translate.Target(vcluster=h.VCLUSTER, host_namespace=h.HOST_NAMESPACE)
NAMESPACES: Final = tuple(f"team-{i}" for i in range(6))
"""Virtual namespaces the policies are spread over."""
WRITE_VERBS: Final = ("create", "update", "patch", "delete")
CONVERGE_LIMIT: Final = 15.0
"""Seconds the host may take to equal the translation once every fault has ended."""
CONVERGE_OBSERVE: Final = 60.0
"""Seconds convergence is still measured after the limit, so a failure reports how late."""
RESYNC_PERIOD: Final = 10.0
LEASE: Final = ("4s", "3s", "1s")
"""Lease duration, renew deadline and retry period of both replicas: a quick failover."""
SCENARIOS: Final = (
    "drops",
    "429",
    "compaction",
    "restart",
    "more-drops",
    "outage",
    "kill",
    "failover",
)
"""The fault scenarios, in the order they run (``--skip NAME`` leaves one out)."""
PATCHES: Final = (
    "sync:\n  toHost:\n    networkPolicies:\n      enabled: true\n      patches:\n"
    "        - op: add\n          path: /metadata/labels/campaign\n          value: chaos\n"
)
"""The replicas' config: one metadata patch, applied again by the expected-state check."""


# -- the virtual workload ------------------------------------------------------------------------


def _policy(rng: random.Random, namespace: str, name: str) -> Json:
    """One of a few realistic shapes, chosen by ``rng``."""
    app = f"app-{rng.randrange(10)}"
    shape = rng.randrange(5)
    spec: Json = {"podSelector": {"matchLabels": {"app": app}}}
    if shape == 0:
        spec["policyTypes"] = ["Ingress", "Egress"]  # default deny
    elif shape == 1:
        spec["ingress"] = [{"from": [{"podSelector": {}}], "ports": [{"port": 8080}]}]
    elif shape == 2:
        spec["ingress"] = [
            {
                "from": [
                    {"namespaceSelector": {"matchLabels": {"team": f"t{rng.randrange(3)}"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                ]
            }
        ]
    elif shape == 3:
        spec["policyTypes"] = ["Egress"]
        spec["egress"] = [
            {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}
        ]
    else:
        spec["ingress"] = [
            {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "tier", "operator": "In", "values": ["web", "api"]}
                            ]
                        }
                    }
                ],
                "ports": [{"port": rng.randrange(1, 65536), "protocol": "TCP"}],
            }
        ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": app},
            "annotations": {"owner": f"{namespace}@example.com"},
        },
        "spec": spec,
    }


class Workload:
    """Creates, updates and deletes virtual policies (names are never reused)."""

    def __init__(self, virtual: KubeSim, rng: random.Random, total: int) -> None:
        self.virtual = virtual
        self.rng = rng
        self.total = total
        self.alive: list[tuple[str, str]] = []
        self.counts = {"create": 0, "update": 0, "delete": 0}

    @property
    def remaining(self) -> int:
        return self.total - self.counts["create"]

    def create(self) -> tuple[str, str]:
        namespace = NAMESPACES[self.counts["create"] % len(NAMESPACES)]
        name = f"np-{self.counts['create']:05d}"
        self.virtual.store.create(_policy(self.rng, namespace, name))
        self.counts["create"] += 1
        self.alive.append((namespace, name))
        return namespace, name

    def update(self) -> None:
        namespace, name = self.rng.choice(self.alive)
        obj = self.virtual.store.get(NETPOLS, namespace, name)
        fresh = _policy(self.rng, namespace, name)
        obj["spec"] = fresh["spec"]
        obj["metadata"]["labels"] = {**fresh["metadata"]["labels"], "rev": str(self.rng.random())}
        self.virtual.store.update(obj)
        self.counts["update"] += 1

    def delete(self) -> None:
        namespace, name = self.alive.pop(self.rng.randrange(len(self.alive)))
        self.virtual.store.delete(NETPOLS, namespace, name)
        self.counts["delete"] += 1

    def step(self) -> None:
        """One random change: mostly creates while any remain, then updates and deletes (never
        below half of ``total``, so the end state still has many policies to compare)."""
        roll = self.rng.random()
        if self.remaining > 0 and (roll < 0.5 or len(self.alive) < 10):
            self.create()
        elif self.alive and roll < 0.85:
            self.update()
        elif len(self.alive) > max(10, self.total // 2):
            self.delete()
        elif self.alive:
            self.update()

    async def churn(
        self, stop: asyncio.Event, running: asyncio.Event, *, pause: float, limit: int
    ) -> None:
        """A change every ``pause`` seconds while ``running``, until ``stop`` (or ``limit``)."""
        for _ in range(limit):
            await running.wait()
            if stop.is_set():
                return
            self.step()
            await asyncio.sleep(pause)

    async def burst(self, changes: int, *, pause: float = 0.002) -> None:
        for _ in range(changes):
            self.step()
            await asyncio.sleep(pause)


# -- what the host must look like ----------------------------------------------------------------


class Expectation:
    """The translation of the current virtual state, as the API would store it."""

    def __init__(self, config_path: Path) -> None:
        self.desire = running.desire_for(TARGET, config.load(config_path).patches)
        self.scratch = KubeSim(namespaces=[h.HOST_NAMESPACE])
        self._memo: dict[tuple[str, str], Json] = {}

    def expected(self, virtual: KubeSim) -> dict[str, Json]:
        out: dict[str, Json] = {}
        memo: dict[tuple[str, str], Json] = {}
        for obj in virtual.store.list(NETPOLS):
            key = (obj["metadata"]["uid"], obj["metadata"]["resourceVersion"])
            view = self._memo.get(key)
            if view is None:
                wanted = self.desire(obj)  # type: ignore[arg-type]
                stored = self.scratch.store.create(copy.deepcopy(dict(wanted)), dry_run=True)
                view = owned_view(stored)
            memo[key] = view
            out[view["name"]] = view
        self._memo = memo
        return out

    def differences(self, virtual: KubeSim, host: KubeSim) -> list[str]:
        expected = self.expected(virtual)
        actual = {name: owned_view(obj) for name, obj in host_copies(host).items()}
        problems = [f"missing on host: {n}" for n in sorted(expected.keys() - actual.keys())]
        problems += [f"unexpected on host: {n}" for n in sorted(actual.keys() - expected.keys())]
        for name in sorted(expected.keys() & actual.keys()):
            for part in ("labels", "annotations", "spec"):
                if expected[name][part] != actual[name][part]:
                    problems.append(
                        f"{name}.{part}: expected {expected[name][part]!r}, "
                        f"host has {actual[name][part]!r}"
                    )
        return problems


def owned_view(obj: Json) -> Json:
    meta = obj.get("metadata") or {}
    return {
        "name": meta.get("name"),
        "labels": meta.get("labels") or {},
        "annotations": meta.get("annotations") or {},
        "spec": obj.get("spec") or {},
    }


def host_copies(host: KubeSim) -> dict[str, Json]:
    found = host.store.list(
        NETPOLS, h.HOST_NAMESPACE, label_selector=f"{markers.MANAGED_BY}={h.VCLUSTER}"
    )
    return {o["metadata"]["name"]: o for o in found if translate.is_owned(o, TARGET)}


def scoping_problems(obj: Json) -> Iterator[str]:
    """Why a host copy could select pods outside this virtual cluster (independent check)."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    virtual_ns = (meta.get("annotations") or {}).get(markers.OBJECT_NAMESPACE)
    spec = obj.get("spec") or {}
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    if selector.get(markers.MANAGED_BY) != h.VCLUSTER:
        yield f"{name}: spec.podSelector lacks {markers.MANAGED_BY}={h.VCLUSTER}"
    if selector.get(markers.NAMESPACE) != virtual_ns:
        yield f"{name}: spec.podSelector lacks {markers.NAMESPACE}={virtual_ns}"
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            for j, peer in enumerate(rule.get(peers_key) or []):
                where = f"{name}: {direction}[{i}].{peers_key}[{j}]"
                if "namespaceSelector" in peer:
                    yield f"{where} has a namespaceSelector"
                if "ipBlock" in peer:
                    continue
                labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
                if labels.get(markers.MANAGED_BY) != h.VCLUSTER:
                    yield f"{where} lacks {markers.MANAGED_BY}={h.VCLUSTER}"


class HostObserver:
    """Subscribed to the host's NetworkPolicy storage: sees every change as it happens."""

    def __init__(self, virtual: KubeSim, host: KubeSim) -> None:
        self.virtual = virtual
        self.host = host
        self.foreign: dict[str, str] = {}
        """Foreign host policies by name, with the resourceVersion they must keep."""
        self.allowed_deletes: set[str] = set()
        """Host copies the campaign itself deletes (tampering)."""
        self.events = {"ADDED": 0, "MODIFIED": 0, "DELETED": 0}
        self.live_deletes: list[str] = []
        self.unscoped: list[str] = []
        self.foreign_touched: list[str] = []
        self.last_change = time.monotonic()

    def offer(self, event: Event) -> None:
        namespace, name = event.entry.key
        if namespace != h.HOST_NAMESPACE:
            return
        self.events[event.type] = self.events.get(event.type, 0) + 1
        self.last_change = time.monotonic()
        if name in self.foreign:
            self.foreign_touched.append(f"{event.type} {name}")
            return
        obj = json.loads(event.entry.raw)
        if event.type == "DELETED":
            if translate.is_owned(obj, TARGET):
                self._check_delete(name, obj)
            return
        # Only the syncer (and the campaign's own tampering, which stays scoped) writes here.
        if not translate.is_owned(obj, TARGET):
            self.unscoped.append(f"{name}: written without this syncer's ownership markers")
        self.unscoped.extend(scoping_problems(obj))

    def _check_delete(self, name: str, obj: Json) -> None:
        if name in self.allowed_deletes:
            self.allowed_deletes.discard(name)
            return
        annotations = obj["metadata"].get("annotations") or {}
        source = self.virtual.store.find(
            NETPOLS,
            annotations.get(markers.OBJECT_NAMESPACE, ""),
            annotations.get(markers.OBJECT_NAME, ""),
        )
        if source is not None and source["metadata"]["uid"] == annotations.get(markers.OBJECT_UID):
            self.live_deletes.append(f"{name} (virtual rv {source['metadata']['resourceVersion']})")


def _foreign_objects() -> list[Json]:
    """Host policies in the namespace that are not this syncer's (SPEC §3 Ownership)."""
    hand_written = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "admin-deny-all", "namespace": h.HOST_NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    source = _policy(random.Random(0), "team-0", "web")
    source["metadata"]["uid"] = "0f0f0f0f-0000-4000-8000-000000000000"
    other = dict(translate.to_host(source, translate.Target("other", h.HOST_NAMESPACE)))  # type: ignore[arg-type]
    impostor = copy.deepcopy(dict(translate.to_host(source, TARGET)))  # type: ignore[arg-type]
    impostor["metadata"]["name"] = "impostor"
    return [hand_written, other, impostor]


# -- the replicas --------------------------------------------------------------------------------


@dataclass
class Replica:
    """One ``netpol-syncer run --leader-elect`` process, restartable."""

    tag: str
    args: list[str]
    log_path: Path
    session: aiohttp.ClientSession
    proc: h.SyncerProcess | None = None
    starts: int = 0
    kills: int = 0
    unexpected: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    _told: bool = False
    _monitor: asyncio.Task[None] | None = None
    last_metrics: h.Samples = field(default_factory=dict)

    async def start(self) -> None:
        """Spawn the process and wait until it serves its probes (signal handlers are set
        by then, so a SIGTERM is a clean shutdown, not a kill during start-up)."""
        self.proc = await h.spawn_syncer(self.args, self.log_path, self.session)
        self._told = False
        self.starts += 1
        self._monitor = asyncio.create_task(self._watch(self.proc))
        await h.wait_for_async(self._serving, within=60, what=f"replica {self.tag} to serve")

    async def healthz(self) -> int | None:
        """The status of ``/healthz`` now (``None``: not answering)."""
        if not self.running:
            return None
        assert self.proc is not None
        try:
            async with self.session.get(self.proc.url + "/healthz") as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def _serving(self) -> bool:
        assert self.proc is not None
        try:
            async with self.session.get(self.proc.url + "/healthz") as response:
                await response.read()
                return True
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _watch(self, proc: h.SyncerProcess) -> None:
        code = await proc.process.wait()
        if not self._told:
            self.unexpected.append(f"replica {self.tag} exited with {code} unasked")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.process.returncode is None

    async def scrape(self) -> h.Samples:
        """The process's metrics now, or ``{}`` when it does not answer (last good kept)."""
        if self.proc is not None and self.proc.process.returncode is None:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                self.last_metrics = await self.proc.metrics()
                return self.last_metrics
        return {}

    async def leading(self) -> bool:
        samples = await self.scrape()
        return h.metric(samples, "netpol_syncer_leader") == 1

    async def kill9(self) -> None:
        assert self.proc is not None
        await self.scrape()
        self._told = True
        self.kills += 1
        self.proc.process.send_signal(signal.SIGKILL)
        await self.proc.process.wait()

    async def terminate(self) -> int | None:
        if self.proc is None or self.proc.process.returncode is not None:
            return None
        await self.scrape()
        self._told = True
        code = await self.proc.stop()
        self.exit_codes.append(code)
        return code

    def rss(self) -> dict[str, int]:
        if self.proc is None or self.proc.process.returncode is not None:
            return {}
        return self.proc.rss()


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


async def _false() -> bool:
    return False


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


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
