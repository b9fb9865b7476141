"""Informer: LIST then WATCH one kind into a :class:`caching.Store`, reporting each change.

Contract (SPEC §6, client-go's reflector):

- one LIST (paginated) then WATCH from the list's resourceVersion, bookmarks on;
- a watch that ends or breaks resumes from the last resourceVersion seen (an event or a
  bookmark), without listing again;
- 410 Gone (history compacted) is the only reason to LIST again; the store is then replaced by
  the complete new list, so deletions missed while away are reported, and never on partial data;
- API or network errors back off exponentially with jitter; the store keeps its content, so an
  outage deletes nothing downstream;
- :meth:`Informer.relist` lists again on request (a new leader needs provably current caches);
  :attr:`Informer.current_at` says when the store was last proven current.

The ``on_change`` callback must not fail or block: it only enqueues keys (STYLE point 3).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from syncer.pipeline import caching
from syncer.runtime import clients, errors
from syncer.runtime.clock import Clock, LoopClock
from syncer.runtime.ratelimiting import ReconnectBackoff
from translate import ObjectKey

log = structlog.get_logger("syncer.pipeline.watching")

OnChange = Callable[[caching.Json | None, caching.Json | None], None]


class WatchMetrics(Protocol):
    def watch_restarted(self, cluster: str, reason: str) -> None: ...

    def informer_synced(self, cluster: str) -> None: ...


class Informer:
    """Keeps ``store`` equal to the API's view of ``resource`` in ``namespace``."""

    def __init__(
        self,
        *,
        api: clients.KubeApi,
        resource: clients.Resource,
        store: caching.Store,
        on_change: OnChange,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 0,
        watch_timeout: tuple[int, int] = (300, 600),
        backoff: ReconnectBackoff | None = None,
        metrics: WatchMetrics | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.cluster = api.cluster
        self.store = store
        self._api = api
        self._resource = resource
        self._namespace = namespace
        self._selector = label_selector
        self._field_selector = field_selector
        self._on_change = on_change
        # 0: one LIST request, as client-go's informers get from the API server's watch cache.
        # A consistent list of 10,000 policies is ~20 MB; page it only for much larger sets.
        self._page_size = page_size
        # Random per-watch timeouts spread reconnections of many replicas (client-go does the same).
        self._watch_timeout = watch_timeout
        self._rng = rng or random.Random()
        self._clock = clock or LoopClock()
        self._backoff = backoff or ReconnectBackoff(clock=self._clock)
        self._metrics = metrics
        self.synced = asyncio.Event()
        """Set once the first complete LIST is in the store; never cleared."""
        self.resource_version: str | None = None
        self.last_activity = self._clock.now()
        """Monotonic time of the last list, event, bookmark or attempt: the liveness signal."""
        self.lists = 0
        self.watches = 0
        self.current_at = float("-inf")
        """Monotonic time at which the store was last proven current: when the request of the
        last complete LIST was sent, or when a bookmark arrived."""
        self._current = asyncio.Event()
        self._relist_wanted = False
        self._rewatch_wanted = False
        self._watching: asyncio.Task[int] | None = None
        self.failing_since: float | None = None
        """Monotonic time of the first failed list/watch attempt in a row; None once a list
        completes or a watch opens. Before the first list this is a wait (``/readyz``), after
        it a failure that lasts too long fails ``/healthz``."""
        self.last_error: Exception | None = None
        """What made the last attempt fail (kept until the next success)."""

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            self.last_activity = self._clock.now()
            try:
                while self.resource_version is None or self._relist_wanted:
                    self._relist_wanted = False
                    await self._list()
                opened = self._clock.now()
                self._rewatch_wanted = False
                self._watching = asyncio.create_task(self._watch(), name=f"watch-{self.cluster}")
                try:
                    delivered = await self._watching
                finally:
                    self._watching = None
                self._restarted("closed")
                if not delivered and self._clock.now() - opened < 1.0:
                    # A server that closes watches at once would otherwise be hammered.
                    await self._clock.sleep(self._backoff.next_delay())
            except asyncio.CancelledError:
                task = asyncio.current_task()
                wanted = self._relist_wanted or self._rewatch_wanted
                if not wanted or (task is not None and task.cancelling()):
                    raise
                self._restarted("relist" if self._relist_wanted else "resync")
            except errors.Gone:
                log.info("watch history expired, listing again", cluster=self.cluster)
                self.resource_version = None
                self._restarted("gone")
            except (errors.ApiError, ValueError) as exc:
                delay = self._backoff.next_delay()
                log.warning(
                    "list/watch failed",
                    cluster=self.cluster,
                    error=str(exc),
                    retry_in=round(delay, 3),
                )
                self._restarted("error")
                self._failed(exc)
                await self._clock.sleep(delay)
            except Exception as exc:
                self._failed(exc)  # the supervisor logs it and starts this again
                raise

    def relist(self) -> None:
        """List again now: the open watch is abandoned, the store made equal to a fresh LIST
        (changes reported as usual), and the watch resumed from that list."""
        self._relist_wanted = True
        if self._watching is not None:
            self._watching.cancel()

    def rewatch(self) -> None:
        """End the open watch so it resumes from the last version seen (no LIST).

        A half-open connection delivers nothing and ends nothing until the read timeout
        (several minutes); the events it swallowed are still in the server's history, so
        watching again from the last version delivers them. The resync calls this, which
        bounds what a silently dead watch can hide to one resync period.
        """
        if self._watching is not None:
            self._rewatch_wanted = True
            self._watching.cancel()

    async def wait_current(self, since: float) -> None:
        """Until the store is proven current at or after monotonic time ``since``."""
        while self.current_at < since:
            self._current.clear()
            await self._current.wait()

    def _proven_current(self, at: float) -> None:
        self.current_at = max(self.current_at, at)
        self._current.set()

    async def _list(self) -> None:
        """One complete LIST into the store, object by object as it is parsed (memory peaks at
        one response body, not at its parsed form); deletions only once the list is complete."""
        requested = self._clock.now()
        listed: set[ObjectKey] = set()
        continue_token: str | None = None
        while True:
            page = await self._api.list_page(
                self._resource,
                self._namespace,
                label_selector=self._selector,
                field_selector=self._field_selector,
                limit=self._page_size,
                continue_token=continue_token,
            )
            meta = page.metadata
            for obj in page.items():
                listed.add(caching.key_of(obj))
                change = self.store.upsert(obj)
                if change is not None:
                    self._on_change(*change)
            continue_token = meta.get("continue") or None
            self.last_activity = self._clock.now()
            if not continue_token:
                break
        self.lists += 1
        self.resource_version = str(meta.get("resourceVersion", ""))
        self._succeeded()
        for old, new in self.store.remove_unlisted(listed, resource_version=self.resource_version):
            self._on_change(old, new)
        self._proven_current(requested)
        self._backoff.reset()
        if not self.synced.is_set():
            self.synced.set()
            if self._metrics is not None:
                self._metrics.informer_synced(self.cluster)
            log.info("initial list done", cluster=self.cluster, objects=len(self.store))

    async def _watch(self) -> int:
        """Watch until the stream ends; returns how many events (bookmarks included) came."""
        assert self.resource_version is not None
        self.watches += 1
        delivered = 0
        async with self._api.watch(
            self._resource,
            self._namespace,
            resource_version=self.resource_version,
            label_selector=self._selector,
            field_selector=self._field_selector,
            timeout_seconds=self._rng.randint(*self._watch_timeout),
        ) as events:
            self.last_activity = self._clock.now()
            self._succeeded()
            async for event in events:
                self._apply(event)
                delivered += 1
                self.last_activity = self._clock.now()
                self._backoff.reset()
        return delivered

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED"):
            change = self.store.upsert(obj)
            if change is not None:
                self._on_change(*change)
        elif kind == "DELETED":
            old = self.store.remove(caching.key_of(obj))
            if old is not None:
                self._on_change(old, None)
        elif kind == "BOOKMARK":
            self._proven_current(self._clock.now())
        else:
            log.warning("unknown watch event", cluster=self.cluster, type=kind)
            return
        if version:
            self.resource_version = self.store.synced_version = str(version)

    def _failed(self, exc: Exception) -> None:
        self.last_error = exc
        if self.failing_since is None:
            self.failing_since = self._clock.now()

    def _succeeded(self) -> None:
        self.failing_since = None
        self.last_error = None

    def _restarted(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.watch_restarted(self.cluster, reason)
