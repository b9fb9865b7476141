"""The production worker loop (:class:`working.Workers`) around a scripted reconcile, with the
events and metrics it produces recorded: tests of the retry policy drive the real loop, never a
copy of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncer.pipeline import caching, queueing, reconciling, working
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting
from translate import ObjectKey

Reconcile = Callable[[ObjectKey], Awaitable[reconciling.Outcome]]


def key(name: str, namespace: str = "default") -> ObjectKey:
    return ObjectKey(namespace, name)


def done(action: reconciling.Action = "updated") -> reconciling.Outcome:
    """What a successful reconcile returns."""
    return reconciling.Outcome(action, ObjectKey("vc-ns", "copy"))


class ScriptedReconciler:
    """A reconciler whose reconcile is a test's function; counts calls per key."""

    def __init__(self, reconcile: Reconcile) -> None:
        self._reconcile = reconcile
        self.in_sync: dict[ObjectKey, Any] = {}
        self.calls: dict[ObjectKey, int] = {}

    async def reconcile(self, key: ObjectKey) -> reconciling.Outcome:
        self.calls[key] = self.calls.get(key, 0) + 1
        return await self._reconcile(key)


@dataclass
class Told:
    """The events the loop asked to record: (type, virtual name, reason, message)."""

    events: list[tuple[str, str, str, str]] = field(default_factory=list)

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.events.append(("Warning", obj["metadata"]["name"], reason, message))

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.events.append(("Normal", obj["metadata"]["name"], reason, message))


@dataclass
class Counted:
    """The worker metrics, as plain counters."""

    results: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def observe_reconcile(self, result: str, seconds: float) -> None:
        self.results[result] = self.results.get(result, 0) + 1

    def observe_sync_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def drift_repaired(self, kind: str) -> None:
        self.drift.append(kind)

    def sync_error(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1


@dataclass
class Rig:
    """One :class:`working.Workers` with everything it touches exposed."""

    workers: working.Workers
    queue: queueing.WorkQueue[ObjectKey]
    reconciler: ScriptedReconciler
    virtual: caching.Store
    told: Told
    metrics: Counted


def rig(
    reconcile: Reconcile,
    *,
    clock: clocks.Clock,
    max_retries: int = 5,
    base: float = 1.0,
    cap: float = 60.0,
    virtual: Sequence[str] = (),
) -> Rig:
    """Workers on ``clock`` with a 1 s doubling per-key backoff (no overall token bucket
    wait at these rates) and the named virtual objects cached in ``default``."""
    limiter = ratelimiting.controller_limiter(
        clock=clock, item=ratelimiting.ItemBackoffSettings(base=base, cap=cap)
    )
    queue: queueing.WorkQueue[ObjectKey] = queueing.WorkQueue(limiter=limiter, clock=clock)
    store = caching.Store()
    for name in virtual:
        store.upsert({"metadata": {"name": name, "namespace": "default", "resourceVersion": "1"}})
    reconciler = ScriptedReconciler(reconcile)
    told, metrics = Told(), Counted()
    workers = working.Workers(
        queue=queue,
        reconciler=reconciler,
        virtual=store,
        recorder=told,
        metrics=metrics,
        clock=clock,
        max_retries=max_retries,
    )
    return Rig(workers, queue, reconciler, store, told, metrics)
