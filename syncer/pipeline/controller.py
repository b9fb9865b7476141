"""The controller: two informers feed one work queue; workers reconcile keys.

Data flows one way (SPEC §2): virtual watch -> cache -> queue -> reconcile -> host write.

- Event handlers only enqueue virtual keys. A virtual change enqueues its own key; a host change
  enqueues the owner named by the copy's annotations plus every virtual key that translates to
  the same host name (collisions), so a freed host name is taken over at once.
- Workers start only after both informers finished their initial list: before that an absent
  virtual object could just be not listed yet, and orphan collection would delete live copies.
  A replica that wins the lease starts them only once both caches are proven current after the
  win (a LIST sent, or a bookmark received, after it): a standby's watch may have been silently
  stuck for minutes, and its stale view must not be written (SPEC §6).
- Workers run :meth:`working.Workers.run`, where the retry policy lives (STYLE point 5).
  Periodic resync gives every key another chance without any API call.
- Every long-running task (informers, event recorder, resync, workers) runs under a
  :class:`supervising.Supervisor`: a crash is logged, counted and restarted with backoff; one
  that keeps crashing ends :meth:`Controller.run` with :class:`supervising.TaskFailed`.
- The probes (:mod:`syncer.pipeline.probing`) read the informers' progress.

Longer than most modules on purpose: it is the wiring of every informer, the queue, the
workers and the baselines, plus the leadership lifecycle that starts and stops them; the
worker loop (working) and the probes (probing) already live apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from syncer.pipeline import (
    caching,
    dnswatch,
    guarding,
    isolating,
    owning,
    probing,
    queueing,
    reconciling,
    recording,
    working,
)
from syncer.pipeline.tuning import ControllerSettings as ControllerSettings
from syncer.pipeline.watching import Informer, WatchMetrics
from syncer.runtime import clients, electing, ratelimiting, supervising
from syncer.runtime.clock import Clock, LoopClock
from translate import ObjectKey, Target, host_name, markers, virtual_key_of

log = structlog.get_logger("syncer.pipeline.controller")

HOST_NAME_INDEX = "host-name"
"""Virtual store: host key (namespace, name) -> virtual keys translating to it (collisions)."""
OWNER_INDEX = "owner"
"""Host store: key of the virtual object a host copy belongs to."""
CANCEL_TIMEOUT = 0.25
"""Seconds cancelled tasks get to end; one that takes longer is left behind so the lease is
still released (see ``running.SHUTDOWN_BUDGET``)."""


class ControllerMetrics(
    WatchMetrics,
    queueing.QueueMetrics,
    recording.EventMetrics,
    supervising.TaskMetrics,
    working.WorkerMetrics,
    Protocol,
):
    def track_policies(
        self,
        *,
        virtual: Callable[[], int] | None = None,
        host: Callable[[], int] | None = None,
        synced: Callable[[], int] | None = None,
    ) -> None: ...


class Controller:
    """Wires informers, queue, reconciler and event recorder for one virtual cluster."""

    def __init__(
        self,
        *,
        target: Target,
        virtual_api: clients.KubeApi,
        host_api: clients.KubeApi,
        desire: reconciling.Desire,
        metrics: ControllerMetrics,
        settings: ControllerSettings | None = None,
        clock: Clock | None = None,
        leadership: electing.Leadership | None = None,
        recorder: recording.EventRecorder | None = None,
        supervisor: supervising.Supervisor | None = None,
        guard: guarding.Guard | None = None,
    ) -> None:
        self.target = target
        self.guard = guard
        """Guardrails (SPEC §9): set only when the config has a ``guardrails`` block."""
        self.settings = settings or ControllerSettings()
        self._clock = clock or LoopClock()
        self._metrics = metrics
        self._leadership: electing.Leadership = leadership or electing.AlwaysLeader()
        self.supervisor = supervisor or supervising.Supervisor(metrics=metrics, clock=self._clock)
        self.virtual = caching.Store(
            strip=caching.strip_virtual,
            indexers={
                HOST_NAME_INDEX: self._host_names,
                isolating.NAMESPACE_INDEX: isolating.virtual_namespaces,
            },
        )
        self.host = caching.Store(
            strip=caching.strip_host,
            indexers={
                OWNER_INDEX: self._owners,
                isolating.BASELINE_INDEX: isolating.baseline_scopes,
            },
            digests=True,
        )
        self._limiter = ratelimiting.controller_limiter(clock=self._clock)
        self.queue: queueing.WorkQueue[ObjectKey] = queueing.WorkQueue(
            limiter=self._limiter,
            clock=self._clock,
            metrics=metrics,
        )
        self.virtual_informer = Informer(
            api=virtual_api,
            resource=clients.NETWORK_POLICIES,
            store=self.virtual,
            on_change=self._on_virtual,
            metrics=metrics,
            clock=self._clock,
        )
        self.host_informer = Informer(
            api=host_api,
            resource=clients.NETWORK_POLICIES,
            store=self.host,
            on_change=self._on_host,
            namespace=target.host_namespace,
            label_selector=f"{markers.MANAGED_BY}={target.vcluster}",
            metrics=metrics,
            clock=self._clock,
        )
        self.owner = owning.ServiceOwner(
            api=host_api,
            target=target,
            on_change=self._on_owner,
            metrics=metrics,
            clock=self._clock,
        )
        self.dns: dnswatch.DnsWatch | None = None
        if guard is not None and guard.rails.dns == "auto":
            self.dns = dnswatch.DnsWatch(
                api=virtual_api,
                guard=guard,
                on_change=self._on_owner,
                metrics=metrics,
                clock=self._clock,
            )
        self.baselines = isolating.Baselines(
            target=target,
            rails=guard.rails if guard is not None else None,
            virtual=self.virtual,
            host=self.host,
            host_api=host_api,
            virtual_api=virtual_api,
            enqueue=self.queue.add,
            tenant_pending=lambda key: self.reconciler.expectations.pending(key),
            owner_references=self.owner.references,
            metrics=metrics,
            may_write=self._leadership.may_write,
            clock=self._clock,
        )
        """``isolation: managed``: the baseline policies (also deletes them once it is off)."""
        self.reconciler = reconciling.Reconciler(
            target=target,
            virtual=self.virtual,
            host=self.host,
            host_api=host_api,
            virtual_api=virtual_api,
            desire=self.owner.owned(desire),
            may_write=self._leadership.may_write,
            clock=self._clock,
            narrowing=self.baselines.narrowing if self.baselines.managed else None,
        )
        self.recorder = recorder or recording.EventRecorder(
            api=virtual_api, clock=self._clock, metrics=metrics
        )
        metrics.track_policies(
            virtual=lambda: len(self.virtual),
            host=lambda: len(self.host),
            synced=lambda: len(self.reconciler.in_sync),
        )
        # The worker loop's retry policy, run by every worker task (self._workers). Like the
        # queue, its change times are only filled while this replica leads or is about to (see
        # _standby), and emptied when leadership is lost.
        self.work = working.Workers(
            queue=self.queue,
            reconciler=isolating.Routed(self.reconciler, self.baselines),
            virtual=self.virtual,
            recorder=self.recorder,
            metrics=metrics,
            clock=self._clock,
            max_retries=self.settings.max_retries,
            guard=guard,
            generation=lambda: self.owner.generation,
        )
        self._tasks: list[asyncio.Task[Any]] = []
        self._workers: list[asyncio.Task[Any]] = []
        self._abandoned: set[asyncio.Task[Any]] = set()
        """Tasks that ignored a cancellation: not waited for again."""
        self._term_started: float | None = None
        """Monotonic time this replica last became leader; None while it does not lead."""
        self.started = asyncio.Event()
        """Set once workers run: both caches are complete and this replica leads."""
        self._stopped = asyncio.Event()
        """Set when :meth:`shutdown` has drained the queue and flushed the Events."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled or :meth:`shutdown`.

        Informers run from the start on every replica (a standby keeps warm caches, so it is
        ready and takes over without listing); workers run only after both initial lists and
        only while this replica leads.
        """
        spawn = self.supervisor.spawn
        self._tasks = [
            spawn("leadership", self._follow_leadership),
            spawn("informer-virtual", self.virtual_informer.run),
            spawn("informer-host", self.host_informer.run),
            spawn("event-recorder", self.recorder.run),
            spawn("informer-owner", self.owner.run),
        ]
        initial = [self.virtual_informer.synced.wait(), self.host_informer.synced.wait()]
        if self.dns is not None:
            self._tasks.append(spawn("informer-dns", self.dns.run))
            initial.append(self.dns.informer.synced.wait())
        try:
            synced = asyncio.gather(*initial)
            await asyncio.wait([synced, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
            if not synced.done():
                synced.cancel()
            self._raise_if_crashed()
            if not self.queue.shutting_down:
                self._tasks.append(spawn("resync", self._resync))
            while not self.queue.shutting_down:
                await self._lead()
            # The caller closes the API clients and releases the lease once this returns, so
            # wait for shutdown() to finish its drain and Event flush (both bounded in time).
            await self._stopped.wait()
        finally:
            await self._cancel(self._tasks + self._workers)

    async def _lead(self) -> None:
        """Wait for leadership, then run workers until it is lost or the queue shuts down."""
        waiting = asyncio.create_task(self._leadership.wait_leading())
        await asyncio.wait([waiting, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        self._raise_if_crashed()
        if not waiting.done():
            waiting.cancel()
            return
        since = self._term_started if self._term_started is not None else self._clock.now()
        current = asyncio.create_task(self._until_current(since))
        lost = asyncio.create_task(self._leadership.wait_lost())
        await asyncio.wait([current, lost, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        lost.cancel()
        if not current.done():
            current.cancel()
            self._raise_if_crashed()
            self._forget_pending()
            return
        self._raise_if_crashed()
        log.info(
            "caches synced and leading, starting workers",
            virtual=len(self.virtual),
            host=len(self.host),
            workers=self.settings.workers,
        )
        self._enqueue_all()
        self._workers = [
            self.supervisor.spawn(f"worker-{i}", self.work.run, label="worker")
            for i in range(self.settings.workers)
        ]
        self.started.set()
        lost = asyncio.create_task(self._leadership.wait_lost())
        await asyncio.wait(
            [lost, *self._workers, *self._tasks], return_when=asyncio.FIRST_COMPLETED
        )
        self._raise_if_crashed()
        if lost.done() and not self.queue.shutting_down:
            log.warning("lost leadership, stopping workers")
        lost.cancel()
        if self.queue.shutting_down:
            # Idle workers return at once on shutdown, which ends the wait above; the busy ones
            # return when their reconcile is done. Cancelling them here would abort writes in
            # flight; shutdown() bounds the wait with its grace period instead.
            # Past the drain (or its grace) they are cancelled below: one that ignores its
            # cancellation is then left behind instead of holding the stop.
            ended: asyncio.Future[Any] = asyncio.gather(*self._workers, return_exceptions=True)
            stopped: asyncio.Future[Any] = asyncio.create_task(self._stopped.wait())
            await asyncio.wait([ended, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        await self._cancel(self._workers)
        self._workers = []
        self._forget_pending()

    def _forget_pending(self) -> None:
        """On losing the lease: a standby keeps no per-key state, since whoever leads next
        enqueues every key from its caches anyway."""
        if not self.queue.shutting_down:
            self.queue.clear()
            self.work.forget_pending()

    async def _follow_leadership(self) -> None:
        """Note when each term begins (the moment the caches must be proven current after)."""
        while True:
            await self._leadership.wait_leading()
            self._term_started = self._clock.now()
            await self._leadership.wait_lost()
            self._term_started = None

    async def _until_current(self, since: float) -> None:
        """Until both caches are proven current after ``since``: an informer that has not
        listed or received a bookmark since then lists again."""
        stale = [i for i in (self.virtual_informer, self.host_informer) if i.current_at < since]
        for informer in stale:
            log.info(
                "leading; listing again to start from a current cache", cluster=informer.cluster
            )
            informer.relist()
        await asyncio.gather(*(informer.wait_current(since) for informer in stale))

    def _raise_if_crashed(self) -> None:
        """Informers, recorder and resync run forever and workers until shutdown; a task that
        ended with an error was given up by its supervisor."""
        for task in self._tasks + self._workers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"{task.get_name()} stopped") from task.exception()

    async def shutdown(self, *, grace: float = 10.0) -> None:
        """Stop taking work, let in-flight reconciles finish (up to ``grace`` seconds), stop all."""
        self.queue.shut_down()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.drain(), grace)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recorder.flush(), 0.5)
        finally:
            self._stopped.set()
        await self._cancel(self._tasks + self._workers)

    def reconnected(self, cluster: str, *, relist: bool) -> None:
        """The API client of ``cluster`` now talks with new credentials (or to a new server,
        then ``relist``): start its informer over at once, resuming from its resourceVersion
        or listing again."""
        informer = self.virtual_informer if cluster == "virtual" else self.host_informer
        if relist:
            informer.resource_version = None
        self.supervisor.restart(f"informer-{cluster}")

    def waits(self) -> dict[str, str | None]:
        """What the controller waits for before both caches are complete (see
        :func:`probing.waits`)."""
        dns = self.dns.informer if self.dns is not None else None
        return probing.waits((self.virtual_informer, self.host_informer), dns=dns)

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready once both informers finished their initial list; the detail names what is
        still awaited."""
        return probing.ready(self.waits())

    def per_key_state(self) -> dict[str, int]:
        """How many keys each per-key map holds: the queue (due, delayed, held, processing),
        the rate limiter's failure histories, the change times and the writes awaiting their
        watch event. All are bounded by the keys that still need work, and zero on a standby;
        for tests and debugging."""
        return {
            "queue": self.queue.tracked,
            "failures": self._limiter.tracked,
            "changed_at": len(self.work.changed_at),
            "expectations": len(self.reconciler.expectations),
        }

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while both informers make progress (see :func:`probing.health`) and no
        task was given up."""
        detail: dict[str, Any] = {"tasks": self.supervisor.health()}
        detail.update(
            probing.health(
                (self.virtual_informer, self.host_informer),
                now=self._clock.now(),
                stall_after=self.settings.stall_after,
                fail_after=self.settings.fail_after,
            )
        )
        return all(d["ok"] for d in detail.values()), detail

    # -- handlers (never fail, never block) ---------------------------------------------------

    def _host_names(self, obj: caching.Json) -> list[caching.IndexValue]:
        meta = obj.get("metadata") or {}
        name, namespace = meta.get("name", ""), meta.get("namespace", "")
        return [
            ObjectKey(
                self.target.host_namespace_for(namespace),
                host_name(name, namespace, self.target.vcluster),
            )
        ]

    def _owners(self, obj: caching.Json) -> list[caching.IndexValue]:
        owner = virtual_key_of(obj, self.target)
        return [] if owner is None else [owner]

    def _standby(self) -> bool:
        """Neither leading nor running workers: nothing would process a key, and on winning
        the lease every key is enqueued from the caches, so handlers record nothing. Without
        this a standby's queue grows with every policy name it ever sees."""
        return not self._workers and not self._leadership.may_write()

    def _on_virtual(self, old: caching.Json | None, new: caching.Json | None) -> None:
        if self._standby():
            return
        key = caching.key_of(new if new is not None else old or {})
        self.work.changed(key)
        self.queue.add(key)
        self.baselines.on_virtual(old, new)

    def _on_owner(self) -> None:
        """The Service's uid changed (every copy needs the new owner reference), or the
        virtual kube-dns Service did (``dns: auto``): every key is translated again."""
        self.reconciler.in_sync.clear()
        self._enqueue_all()

    def _on_host(self, old: caching.Json | None, new: caching.Json | None) -> None:
        if not self._standby():
            self.baselines.on_host(old, new)  # also for our own writes: baselines follow them
        if new is not None and self.reconciler.expectations.echo(
            caching.key_of(new), caching.version_of(new)
        ):
            return  # our own write coming back: already recorded as in sync
        if self._standby():
            return
        obj = new if new is not None else old or {}
        owner = virtual_key_of(obj, self.target)
        if owner is not None:
            self.queue.add(owner)
        for key in self.virtual.by_index(HOST_NAME_INDEX, caching.key_of(obj)):
            self.queue.add(key)

    async def _resync(self) -> None:
        while True:
            await self._clock.sleep(self.settings.resync_period)
            # Watches resume from their last version first, so changes a half-open connection
            # swallowed reach the caches (and enqueue their keys) within this period.
            self.virtual_informer.rewatch()
            self.host_informer.rewatch()
            self._enqueue_all()

    def _enqueue_all(self) -> None:
        """Every virtual key and every owner of a host copy (orphans): no API call."""
        for key in self.virtual:
            self.queue.add(key)
        for owner in self.host.index_keys(OWNER_INDEX):
            self.queue.add(owner)
        for key in self.baselines.work():
            self.queue.add(key)

    async def _cancel(self, tasks: list[asyncio.Task[Any]]) -> None:
        """Cancel ``tasks`` and wait for them at most :data:`CANCEL_TIMEOUT`: a task that
        ignores its cancellation is left behind (once), so that shutdown goes on and the lease
        is released. ``asyncio.wait``, not ``gather``: a cancelled gather still waits for all."""
        pending = {t for t in tasks if not t.done() and t not in self._abandoned}
        for task in pending:
            task.cancel()
        if not pending:
            return
        _, stuck = await asyncio.wait(pending, timeout=CANCEL_TIMEOUT)
        stuck -= self._abandoned  # shutdown and run's cleanup may both wait for them
        if stuck:
            self._abandoned |= stuck
            log.error(
                "tasks did not stop when cancelled; left behind",
                tasks=sorted(t.get_name() for t in stuck),
            )
