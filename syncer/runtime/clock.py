"""Injectable time: the one place the queue, the rate limiters and the lease logic read it from.

Neighbours: ``queueing`` (delayed adds are timers), ``ratelimiting`` (the token bucket refills on
``now()``; the reconnect backoff resets after a quiet period) and the leader-election lease logic
(renew deadlines). None of them calls ``asyncio.sleep``, ``loop.time`` or ``time.monotonic``
directly, so their tests step time by hand and assert exact delay sequences without sleeping.

Two ways to fake time in tests, both supported:

- ``FakeClock``: time moves only when a test calls ``advance()`` or ``run_for()``. Timers fire
  synchronously inside ``advance()``, so a test can assert state at exact instants with no event
  loop at all (rate limiters) or with one (queues).
- ``LoopClock`` under the ``looptime`` pytest plugin: ``LoopClock`` reads the event loop's own
  time, which ``looptime`` fast-forwards whenever the loop is idle. Use it for scenarios with many
  concurrent tasks (workers, retries, shutdown), where stepping a fake clock by hand is fragile.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

T = TypeVar("T")

# How many loop iterations ``FakeClock.run_for`` gives woken tasks after each timer: enough for a
# task to resume from ``sleep()``, do in-memory work through a few awaits, and block again.
SETTLE_CYCLES = 16


class Timer(Protocol):
    """A scheduled callback; ``asyncio.TimerHandle`` is one."""

    def cancel(self) -> None:
        """Stop the callback from running; a no-op if it already ran or was cancelled."""


class Clock(Protocol):
    """Monotonic time in seconds, sleeping, and timers, all on one time axis.

    ``now()`` has an arbitrary origin: only differences and ``call_at`` deadlines mean anything.
    """

    def now(self) -> float:
        """The current monotonic time in seconds."""

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` (zero or less: just yield once)."""

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` at ``when`` (a ``now()`` value), in the event loop's thread."""


class LoopClock:
    """The real clock: the running event loop's time, sleep and timers.

    Reading the loop's time (not ``time.monotonic``) keeps ``now()`` and ``call_at`` on the same
    axis as the loop's scheduler, and lets ``looptime`` fast-forward all three together in tests.
    """

    def now(self) -> float:
        """The running loop's time; outside a loop, ``time.monotonic()``, which asyncio's default
        loop uses too (do not mix the two under ``looptime``, whose loop time is fake)."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(max(seconds, 0.0))

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """``loop.call_at``. Must be called from within the running loop."""
        return asyncio.get_running_loop().call_at(when, callback)


async def wait_for(clock: Clock, awaitable: Awaitable[T], seconds: float) -> T:
    """``asyncio.wait_for`` on ``clock``: await ``awaitable`` for at most ``seconds`` of clock
    time, then cancel it and raise :class:`TimeoutError`.

    ``asyncio.wait_for`` times out on the event loop's clock, which a ``FakeClock`` does not
    move: a deadline read from the injected clock must also be enforced on it.
    """
    task = asyncio.ensure_future(awaitable)
    expired = False

    def expire() -> None:
        nonlocal expired
        if not task.done():
            expired = True
            task.cancel()

    timer = clock.call_at(clock.now() + seconds, expire)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if expired and (current is None or not current.cancelling()):
            raise TimeoutError(f"not done within {seconds}s") from None
        raise
    finally:
        timer.cancel()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class FakeTimer:
    """A timer of ``FakeClock``: its deadline, and whether it may still fire."""

    __slots__ = ("_callback", "active", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.active = True
        self._callback = callback

    def cancel(self) -> None:
        """Stop the callback from running; a no-op if it already ran."""
        self.active = False

    def fire(self) -> None:
        """Run the callback once, unless cancelled."""
        if self.active:
            self.active = False
            self._callback()


class FakeClock:
    """A deterministic clock for tests: time stands still until the test moves it.

    Timers due at the same instant fire in the order they were scheduled. A timer scheduled for
    a time already past fires at the next ``advance()``/``run_for()``, at the current time.
    """

    def __init__(self, *, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, FakeTimer]] = []
        self._seq = itertools.count()  # breaks deadline ties: FIFO among timers of one instant

    def now(self) -> float:
        """The fake time: ``start`` plus everything advanced so far."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeTimer:
        """Schedule ``callback()`` to run once time reaches ``when``."""
        timer = FakeTimer(when, callback)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        """Suspend until the test advances time by ``seconds``; cancellable.

        The sleeper's future is resolved inside ``advance()``, but the task itself resumes only
        when the test next yields to the loop (``await asyncio.sleep(0)``, or use ``run_for``).
        """
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_at(self._now + seconds, lambda: _resolve(future))
        try:
            await future
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in deadline order, synchronously.

        ``now()`` equals each timer's deadline while its callback runs, and ``start + seconds``
        afterwards. Timers that callbacks schedule within the window fire in the same call.
        """
        if seconds < 0:
            raise ValueError(f"time cannot go backwards: advance({seconds})")
        target = self._now + seconds
        while (timer := self._pop_due(target)) is not None:
            timer.fire()
        self._now = target

    async def run_for(self, seconds: float, *, settle_cycles: int = SETTLE_CYCLES) -> None:
        """Like ``advance``, but let woken tasks run after every timer before the next one fires.

        For task loops such as ``while True: work(); await clock.sleep(1)``. Woken tasks get
        ``settle_cycles`` loop iterations to block again; a task waiting on real I/O may need
        more, so prefer ``LoopClock`` under ``looptime`` for those.
        """
        if seconds < 0:
            raise ValueError(f"time cannot go backwards: run_for({seconds})")
        target = self._now + seconds
        await self.settle(settle_cycles)
        while (timer := self._pop_due(target)) is not None:
            timer.fire()
            await self.settle(settle_cycles)
        self._now = target

    @staticmethod
    async def settle(cycles: int = SETTLE_CYCLES) -> None:
        """Yield to the event loop ``cycles`` times so that ready tasks run, without moving time."""
        for _ in range(cycles):
            await asyncio.sleep(0)

    def next_deadline(self) -> float | None:
        """The deadline of the earliest pending timer, or ``None`` when none is pending."""
        while self._heap and not self._heap[0][2].active:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    @property
    def pending(self) -> int:
        """How many timers are scheduled and not cancelled."""
        return sum(1 for _, _, timer in self._heap if timer.active)

    def _pop_due(self, target: float) -> FakeTimer | None:
        """Remove and return the earliest active timer due by ``target``, moving time to it."""
        deadline = self.next_deadline()
        if deadline is None or deadline > target:
            return None
        _, _, timer = heapq.heappop(self._heap)
        self._now = max(self._now, deadline)
        return timer
