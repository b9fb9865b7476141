"""The worker loop: take a key from the queue, reconcile it, decide what happens next.

The retry policy lives here and only here (STYLE point 5): the reconciler returns an outcome
or raises a typed error (:mod:`syncer.runtime.errors`) and never touches the queue.

- success forgets the key (its backoff starts over);
- a conflict or a temporary failure is retried with per-key backoff (``Retry-After``
  honoured); after ``max_retries`` temporary failures the key is given up;
- a permanent failure, or one given up, is final for this object version: the host copy is
  kept, the tenant sees a Warning event on the virtual object and ``errors_total`` counts it,
  until the next change or resync enqueues the key again;
- a reconcile refused for want of leadership puts its key back and pauses the worker, so that
  keys are not spun through at full speed while leadership is being lost.

Neighbours: :mod:`syncer.pipeline.queueing` hands out keys, :mod:`syncer.pipeline.reconciling`
converges them, :mod:`syncer.pipeline.recording` tells the tenant, and
:mod:`syncer.pipeline.controller` runs :meth:`Workers.run` once per worker while it leads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from syncer.pipeline import caching, guarding, queueing, reconciling
from syncer.runtime import errors
from syncer.runtime.clock import Clock
from translate import ObjectKey

log = structlog.get_logger("syncer.pipeline.working")

NOT_LEADER_PAUSE = 0.5
"""Seconds a worker waits after a reconcile refused for want of leadership: bounds the skipped
reconciles to a few per second in the moment between losing the right to write and the
workers being stopped."""


class WorkerMetrics(Protocol):
    def observe_reconcile(self, result: str, seconds: float) -> None: ...

    def observe_sync_latency(self, seconds: float) -> None: ...

    def drift_repaired(self, kind: str) -> None: ...

    def sync_error(self, reason: str) -> None: ...


class Reconciles(Protocol):
    """What the loop needs of :class:`reconciling.Reconciler`."""

    @property
    def in_sync(self) -> dict[ObjectKey, Any]:
        """Keys known to be in sync; a key written under an outdated owner is dropped here."""

    async def reconcile(self, key: ObjectKey) -> reconciling.Outcome: ...


class Tells(Protocol):
    """What the loop needs of :class:`recording.EventRecorder`."""

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None: ...

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None: ...


class Workers:
    """The retry policy around one reconciler; run :meth:`run` once per concurrent worker."""

    def __init__(
        self,
        *,
        queue: queueing.WorkQueue[ObjectKey],
        reconciler: Reconciles,
        virtual: caching.Store,
        recorder: Tells,
        metrics: WorkerMetrics,
        clock: Clock,
        max_retries: int,
        guard: guarding.Guard | None = None,
        generation: Callable[[], int] = lambda: 0,
    ) -> None:
        self.queue = queue
        self._reconciler = reconciler
        self._virtual = virtual
        self._recorder = recorder
        self._metrics = metrics
        self._clock = clock
        self.max_retries = max_retries
        self._guard = guard
        self._generation = generation
        """The owner Service's generation: a key reconciled while it changed runs again."""
        self.changed_at: dict[ObjectKey, float] = {}
        """Virtual key -> when its oldest unprocessed change arrived (sync latency). Filled by
        :meth:`changed`, emptied as keys are processed and by :meth:`forget_pending`: bounded
        by the keys pending work."""
        self._announced: dict[ObjectKey, tuple[str, ...]] = {}
        """Virtual key -> guardrail notes last told to the tenant (one event per change)."""

    def changed(self, key: ObjectKey) -> None:
        """Note a virtual change of ``key`` (its sync latency counts from the first one)."""
        self.changed_at.setdefault(key, self._clock.now())

    def forget_pending(self) -> None:
        """Drop the change times (a replica that stops leading keeps no per-key state)."""
        self.changed_at.clear()

    async def run(self) -> None:
        """Process keys until the queue shuts down."""
        while True:
            try:
                async with self.queue.get() as key:
                    refused = await self.process(key)
            except queueing.QueueShutDown:
                return
            if refused:
                await self._clock.sleep(NOT_LEADER_PAUSE)
            # A reconcile that needs no API call never suspends: without this a resync of
            # 10,000 keys would hold the loop (probes, watches) for seconds.
            await asyncio.sleep(0)

    async def process(self, key: ObjectKey) -> bool:
        """Reconcile ``key`` and decide its retry; True when refused for want of leadership."""
        started = self._clock.now()
        result = "error"
        refused = False
        generation = self._generation()
        try:
            outcome = await self._reconciler.reconcile(key)
        except errors.NotLeader:
            result = "skipped"
            refused = True
            self.queue.add(key)  # the next leader (maybe us again) reconciles it
        except errors.Conflict as exc:
            result = "conflict"
            log.debug("conflict, retrying", virtual=str(key), error=str(exc))
            self.queue.add_rate_limited(key)
        except errors.PermanentError as exc:
            self._give_up(key, exc.reason, str(exc))
        except errors.TemporaryError as exc:
            self._retry(key, exc)
        except errors.ApiError as exc:
            self._give_up(key, "ApiError", str(exc))
        except Exception as exc:
            log.exception("reconcile crashed", virtual=str(key))
            self._give_up(key, "ApiError", f"internal error: {exc!r}")
        else:
            result = outcome.action
            self.queue.forget(key)
            if self._guard is not None:
                self._announce(key, outcome.action)
            if self._generation() != generation:
                # Written (or found equal) under the previous owner: check again.
                self._reconciler.in_sync.pop(key, None)
                self.queue.add(key)
            changed_at = self.changed_at.pop(key, None)
            if outcome.action in ("created", "updated", "deleted") and changed_at is not None:
                self._metrics.observe_sync_latency(self._clock.now() - changed_at)
            if outcome.drift is not None:
                self._metrics.drift_repaired(outcome.drift)
                log.info("repaired out-of-band change", virtual=str(key), kind=outcome.drift)
            # A freed host name goes to the virtual objects waiting for it (collisions) when
            # the watch delivers the DELETED: the controller's host handler enqueues them then.
        finally:
            self._metrics.observe_reconcile(result, self._clock.now() - started)
        return refused

    def _announce(self, key: ObjectKey, action: reconciling.Action) -> None:
        """A Normal event when the guardrails changed this key's copy differently than last
        told (not at every resync); nothing once the object is gone."""
        assert self._guard is not None
        notes = self._guard.notes.get(key, ())
        virtual = self._virtual.get(key)
        if virtual is None or action == "deleted":
            self._announced.pop(key, None)
            self._guard.notes.pop(key, None)
            return
        if action == "skipped" or self._announced.get(key, ()) == notes:
            return
        self._announced[key] = notes
        if notes:
            self._recorder.normal(
                virtual,
                guarding.NARROWED,
                "the host copy was changed by the platform's guardrails: " + "; ".join(notes),
            )

    def _retry(self, key: ObjectKey, exc: errors.TemporaryError) -> None:
        if self.queue.num_requeues(key) >= self.max_retries:
            self._give_up(key, "ApiError", f"gave up after {self.max_retries} retries: {exc}")
            return
        log.info("temporary failure, retrying", virtual=str(key), error=str(exc))
        self.queue.add_rate_limited(key, at_least=exc.retry_after or 0.0)

    def _give_up(self, key: ObjectKey, reason: str, message: str) -> None:
        """Permanent for this object version: keep the host copy, tell the tenant, count it."""
        self.queue.forget(key)
        self.changed_at.pop(key, None)
        self._metrics.sync_error(reason)
        log.warning("sync failed", virtual=str(key), reason=reason, error=message)
        virtual = self._virtual.get(key)
        if virtual is not None:
            self._recorder.warning(virtual, errors.event_reason(reason), message)
