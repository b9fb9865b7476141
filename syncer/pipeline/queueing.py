"""The work queue between the informers' event handlers and the reconcile workers.

Neighbours: informer handlers only ``add`` keys; workers take keys with ``get`` and decide
retries (``add_rate_limited`` / ``forget``); the metrics module observes through ``QueueMetrics``;
``clock`` provides time. Stages meet at Protocols, so this module imports neither the reconciler,
the metrics module nor ``ratelimiting`` (any object with ``when/forget/num_requeues`` will do).

The contract is client-go's workqueue, because a level-triggered controller needs exactly it:

- Fair: keys are handed out in the order they became due (FIFO).
- Stingy: a key is never processed by two workers at once, and adding a key that is already
  waiting to be processed does nothing (duplicates collapse), so a burst of events for one
  object costs one reconcile.
- Re-adds of a key while it is being processed are deferred until it is done, then it is
  processed once more: the event that arrived mid-reconcile is not lost.
- Delayed adds collapse: of several pending delayed adds of a key the earliest wins, and an
  immediate add supersedes them (client-go keeps both and may process the key twice).
- A server's pushback holds the key: after ``add_rate_limited(key, at_least=N)`` (a 429 or 503
  with ``Retry-After: N``) no add hands the key out before those N seconds are over; an add
  meanwhile (a new event, a resync) makes it due exactly then. client-go's delaying queue lets
  any ``Add`` through at once, which retries a throttled request immediately. Our own backoff
  is not a hold: a new change is new information and may well fix the failure, so it goes at
  once, as in client-go.
- Shutdown stops intake and hand-out; ``drain`` then waits for the keys being processed.
  Unlike client-go, keys still queued are not handed out after shutdown: on SIGTERM the next
  leader (or the next start) lists everything anyway, and 10,000 queued keys would not fit in
  a termination grace period.

Costs: ``add``, ``get`` and ``done`` are O(1); ``add_after`` is O(log n) (one loop timer), and
so is an ``add`` of a held key.

Longer than most modules on purpose: the queue's invariants (a key is never processed
twice at once, a re-add while processing is deferred, delays and Retry-After holds collapse)
span every method, so they are kept where one reading can check them.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Hashable
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from syncer.runtime import clock as clocks

K = TypeVar("K", bound=Hashable)


class QueueShutDown(Exception):
    """Raised by ``get()`` once the queue is shut down: the worker should return."""


class RateLimiter(Protocol):
    """What the queue needs of a retry policy. The same shape as ``ratelimiting.RateLimiter``,
    declared again so that this module does not import the policies it is given."""

    def when(self, key: Hashable) -> float:
        """Record a failure of ``key``; return seconds to wait before retrying it."""

    def forget(self, key: Hashable) -> None:
        """Clear ``key``'s failure history."""

    def num_requeues(self, key: Hashable) -> int:
        """Failures of ``key`` since it was last forgotten."""


class QueueMetrics(Protocol):
    """Observer of one queue; called synchronously, so implementations must be cheap."""

    def depth(self, depth: int) -> None:
        """The number of keys ready to be handed out changed to ``depth``."""

    def added(self) -> None:
        """A key became due (collapsed duplicates are not counted)."""

    def retried(self) -> None:
        """A key was re-added through the rate limiter."""

    def waited(self, seconds: float) -> None:
        """A key was handed to a worker ``seconds`` after it became due."""


class NoMetrics:
    """A ``QueueMetrics`` that records nothing."""

    def depth(self, depth: int) -> None:
        """Ignored."""

    def added(self) -> None:
        """Ignored."""

    def retried(self) -> None:
        """Ignored."""

    def waited(self, seconds: float) -> None:
        """Ignored."""


@dataclasses.dataclass(eq=False)
class _Delayed:
    """A pending delayed add: when it is due and the timer that will add it."""

    ready_at: float
    timer: clocks.Timer | None = None


class WorkQueue(Generic[K]):
    """A fair, stingy, delaying, rate-limited asyncio work queue of hashable keys.

    Use only from the event loop's thread. Worker loop::

        while True:
            try:
                async with queue.get() as key:
                    ...  # reconcile; on failure queue.add_rate_limited(key), else forget
            except queueing.QueueShutDown:
                return
    """

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        clock: clocks.Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self._limiter = limiter
        self._clock: clocks.Clock = clock or clocks.LoopClock()
        self._metrics: QueueMetrics = metrics or NoMetrics()

        # Keys that need processing, each with the time it became due. A dirty key is either in
        # _ready (to be handed out) or in _processing (to be re-queued when done), never both.
        self._dirty: dict[K, float] = {}
        # Dirty keys not being processed, in the order they became due; no duplicates.
        self._ready: collections.deque[K] = collections.deque()
        # Keys handed to a worker whose claim has not ended. At most one worker holds each key.
        self._processing: set[K] = set()
        # Pending delayed adds, one per key (the earliest). Disjoint from _dirty: a due key makes
        # a later delayed add pointless, so adds cancel them.
        self._waiting: dict[K, _Delayed] = {}
        # Keys the server asked us to leave alone (Retry-After): key -> when it may be handed out
        # again. A held key is never dirty and always has a delayed add due no earlier than its
        # hold, so its entry ends when that add fires (or on forget, clear, shutdown).
        self._held: dict[K, float] = {}
        # Workers blocked in get(), woken one per key made ready, all at shutdown.
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()
        # Set whenever _processing is empty; drain() waits for it.
        self._idle = asyncio.Event()
        self._idle.set()
        # Once set, adds are ignored and get() raises QueueShutDown. Never unset.
        self._shutting_down = False

    # -- intake -----------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Make ``key`` due now. No-op if it is already due, or after shutdown.

        If ``key`` is being processed, it is handed out again once its worker is done. If the
        server asked to hold it (``add_rate_limited(at_least=...)``), it is due when the hold
        ends instead.
        """
        if self._shutting_down:
            return
        held = self._held.get(key)
        if held is not None:
            self._schedule(key, held)
            return
        delayed = self._waiting.pop(key, None)
        if delayed is not None and delayed.timer is not None:
            delayed.timer.cancel()
        if key in self._dirty:
            return
        self._dirty[key] = self._clock.now()
        self._metrics.added()
        if key in self._processing:
            return
        self._push(key)

    def add_after(self, key: K, delay: float) -> None:
        """Make ``key`` due in ``delay`` seconds (now if ``delay <= 0``).

        Collapses: if the key is already due, or a delayed add of it is due sooner, this is a
        no-op; otherwise it replaces a later pending delayed add of the key. A held key is not
        due before its hold ends.
        """
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        if key in self._dirty:
            return
        self._schedule(key, self._clock.now() + delay)

    def add_rate_limited(self, key: K, *, at_least: float = 0.0) -> None:
        """Retry ``key`` after the limiter's delay, counting one more failure of it.

        Pass a server's ``Retry-After`` as ``at_least``: the delay is then
        ``max(at_least, limiter.when(key))``, so the server's pushback is honoured and the
        key's backoff still grows; and the key is held for ``at_least`` seconds: no add, not
        even one that arrived while the key was being processed, hands it out sooner. No-op
        after shutdown.
        """
        if self._shutting_down:
            return
        delay = max(at_least, self._limiter.when(key))
        self._metrics.retried()
        if at_least > 0:
            self._hold(key, self._clock.now() + at_least)
        self.add_after(key, delay)

    def forget(self, key: K) -> None:
        """Clear ``key``'s failure history and hold: on success, or when giving up on it.

        It does not remove the key from the queue. Forgetting a key whose failures keep
        recurring makes it retry fast forever; give up only together with an event and metric.
        """
        self._limiter.forget(key)
        self._held.pop(key, None)

    def clear(self) -> None:
        """Drop every key not being processed, with its delayed add, hold and failure history.

        For a replica that stops leading: whoever leads next enqueues every key from its caches,
        and a standby must not keep (and grow) state for keys it will never process. Keys being
        processed stay claimed until done, but are not handed out again.
        """
        keys = self._dirty.keys() | self._waiting.keys() | self._held.keys()
        for delayed in self._waiting.values():
            if delayed.timer is not None:
                delayed.timer.cancel()
        self._waiting.clear()
        self._held.clear()
        self._dirty.clear()
        self._ready.clear()
        self._metrics.depth(0)
        for key in keys:
            self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """Failures of ``key`` recorded since it was last forgotten."""
        return self._limiter.num_requeues(key)

    # -- hand-out ---------------------------------------------------------------------------------

    def get(self) -> Claim[K]:
        """Claim the next due key: ``async with queue.get() as key:``.

        The key is taken when the block is entered (waiting until one is due) and marked done
        when it is left, however it is left. Raises ``QueueShutDown`` on entry after shutdown,
        including for workers already waiting. Calling ``get()`` without ``async with`` takes
        nothing.
        """
        return Claim(self)

    async def _take(self) -> K:
        """Wait for a ready key and mark it processing."""
        while not self._ready or self._shutting_down:
            if self._shutting_down:
                raise QueueShutDown
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if getter in self._getters:
                    self._getters.remove(getter)  # O(workers): only on cancellation
                elif not getter.cancelled():
                    self._wake_one()  # we were woken but will not take the key: pass it on
                raise
        key = self._ready.popleft()
        self._metrics.depth(len(self._ready))
        self._metrics.waited(self._clock.now() - self._dirty.pop(key))
        self._processing.add(key)
        self._idle.clear()
        return key

    def _done(self, key: K) -> None:
        """End the processing of ``key``; re-queue it if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._push(key)
        if not self._processing:
            self._idle.set()

    # -- shutdown ---------------------------------------------------------------------------------

    def shut_down(self) -> None:
        """Stop intake and hand-out: adds become no-ops, pending delayed adds are cancelled,
        and every ``get()`` (waiting or future) raises ``QueueShutDown``. Idempotent."""
        if self._shutting_down:
            return
        self._shutting_down = True
        for delayed in self._waiting.values():
            if delayed.timer is not None:
                delayed.timer.cancel()
        self._waiting.clear()
        self._held.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)

    async def drain(self) -> None:
        """Shut down, then wait until every claimed key is done.

        Never await this from inside a claim: it would wait for itself. Bound it with
        ``asyncio.timeout`` to respect a termination grace period.
        """
        self.shut_down()
        await self._idle.wait()

    @property
    def shutting_down(self) -> bool:
        """Whether ``shut_down`` (or ``drain``) was called."""
        return self._shutting_down

    # -- introspection ----------------------------------------------------------------------------

    def __len__(self) -> int:
        """Keys ready to be handed out now (the depth)."""
        return len(self._ready)

    @property
    def processing(self) -> int:
        """Keys claimed by workers right now."""
        return len(self._processing)

    @property
    def waiting(self) -> int:
        """Keys with a pending delayed add."""
        return len(self._waiting)

    @property
    def tracked(self) -> int:
        """Distinct keys the queue keeps any state for: due, processing, delayed or held.

        Bounded by the keys that changed since they were last processed; a replica that does
        not process keys should keep it at zero (see ``clear``).
        """
        return len(self._dirty.keys() | self._processing | self._waiting.keys() | self._held.keys())

    # -- internals --------------------------------------------------------------------------------

    def _push(self, key: K) -> None:
        self._ready.append(key)
        self._metrics.depth(len(self._ready))
        self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def _schedule(self, key: K, ready_at: float) -> None:
        """Make ``key`` due at ``ready_at`` (not before its hold), unless a delayed add of it is
        already due sooner (and not before the hold). The key must not be dirty."""
        ready_at = max(ready_at, self._held.get(key, ready_at))
        pending = self._waiting.get(key)
        if pending is not None:
            if pending.ready_at <= ready_at:
                return
            if pending.timer is not None:
                pending.timer.cancel()
        delayed = _Delayed(ready_at)
        delayed.timer = self._clock.call_at(ready_at, lambda: self._fire(key, delayed))
        self._waiting[key] = delayed

    def _hold(self, key: K, until: float) -> None:
        """Hold ``key`` until ``until`` (a longer hold stays): move a delayed add due sooner, and
        an add that arrived while the key was processed, to the end of the hold."""
        until = max(until, self._held.get(key, until))
        self._held[key] = until
        pending = self._waiting.get(key)
        if pending is not None and pending.ready_at < until:
            if pending.timer is not None:
                pending.timer.cancel()
            del self._waiting[key]
            self._schedule(key, until)
        if key in self._dirty:
            del self._dirty[key]
            if key not in self._processing:  # only when holding a key the caller did not claim
                self._ready.remove(key)
                self._metrics.depth(len(self._ready))
            self._schedule(key, until)

    def _fire(self, key: K, delayed: _Delayed) -> None:
        if self._waiting.get(key) is delayed:  # else superseded: its timer was cancelled too
            del self._waiting[key]
            # A delayed add never fires before the key's hold ends: the hold is over.
            self._held.pop(key, None)
            self.add(key)


class Claim(Generic[K]):
    """One worker's hold on one key, as an async context manager; single use."""

    __slots__ = ("_held", "_key", "_queue", "_used")

    def __init__(self, queue: WorkQueue[K]) -> None:
        self._queue = queue
        self._used = False  # entered once already
        self._held = False  # a key was taken and not yet marked done
        self._key: K

    async def __aenter__(self) -> K:
        if self._used:
            raise RuntimeError("a claim is single use: call queue.get() again")
        self._used = True
        self._key = await self._queue._take()
        self._held = True
        return self._key

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._held:
            self._held = False
            self._queue._done(self._key)
