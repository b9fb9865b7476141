"""The real clock under looptime: a worker loop with retries, Retry-After and drain runs minutes
of event-loop time in milliseconds of wall time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting

pytestmark = pytest.mark.looptime

MAX_RETRIES = 5


class TemporaryError(Exception):
    """A failure worth retrying with backoff."""


class ThrottledError(TemporaryError):
    """A 429 with a Retry-After header."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


Reconcile = Callable[[str], Awaitable[None]]


async def worker(queue: queueing.WorkQueue[str], reconcile: Reconcile, gave_up: list[str]) -> None:
    """The controller's worker loop shape: retry policy here, never in reconcile."""
    while True:
        try:
            async with queue.get() as key:
                try:
                    await reconcile(key)
                except ThrottledError as e:
                    queue.add_rate_limited(key, at_least=e.retry_after)
                except TemporaryError:
                    if queue.num_requeues(key) < MAX_RETRIES:
                        queue.add_rate_limited(key)
                    else:
                        queue.forget(key)
                        gave_up.append(key)
                else:
                    queue.forget(key)
        except queueing.QueueShutDown:
            return


def _queue(*, base: float = 1.0, cap: float = 60.0) -> queueing.WorkQueue[str]:
    limiter = ratelimiting.controller_limiter(
        item=ratelimiting.ItemBackoffSettings(base=base, cap=cap),
    )
    return queueing.WorkQueue(limiter=limiter, clock=clocks.LoopClock())


async def test_failures_retry_on_the_exact_backoff_schedule() -> None:
    """A key failing three times is attempted at loop times 0, 1, 3 and 7, then forgotten."""
    loop = asyncio.get_running_loop()
    queue = _queue()
    attempts: list[float] = []

    async def reconcile(key: str) -> None:
        attempts.append(loop.time())
        if len(attempts) <= 3:
            raise TemporaryError

    task = asyncio.create_task(worker(queue, reconcile, []))
    queue.add("a")
    await asyncio.sleep(100)
    await queue.drain()
    await task
    assert attempts == [0.0, 1.0, 3.0, 7.0]
    assert queue.num_requeues("a") == 0


async def test_retry_after_is_honoured_and_giving_up_forgets() -> None:
    """A 429 waits its Retry-After; a key failing past MAX_RETRIES is given up and forgotten."""
    loop = asyncio.get_running_loop()
    queue = _queue()
    attempts: dict[str, list[float]] = {"throttled": [], "broken": []}
    gave_up: list[str] = []

    async def reconcile(key: str) -> None:
        attempts[key].append(loop.time())
        if key == "throttled" and len(attempts[key]) == 1:
            raise ThrottledError(retry_after=30.0)
        if key == "broken":
            raise TemporaryError

    task = asyncio.create_task(worker(queue, reconcile, gave_up))
    queue.add("throttled")
    queue.add("broken")
    await asyncio.sleep(120)
    await queue.drain()
    await task
    assert attempts["throttled"] == [0.0, 30.0]
    assert attempts["broken"] == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0]
    assert gave_up == ["broken"]
    assert queue.num_requeues("broken") == 0


async def test_many_workers_never_share_a_key_and_finish_everything() -> None:
    """Eight workers on 2,000 keys with re-adds mid-flight process each key alone, none lost."""
    queue = _queue(base=0.5)
    in_flight: set[str] = set()
    overlaps: list[str] = []
    rounds: dict[str, int] = {}

    async def reconcile(key: str) -> None:
        if key in in_flight:
            overlaps.append(key)
        in_flight.add(key)
        rounds[key] = rounds.get(key, 0) + 1
        if rounds[key] == 1 and key.endswith("7"):
            queue.add(key)  # an event for the same object arrives mid-reconcile
        await asyncio.sleep(0.01)  # an API round trip
        in_flight.discard(key)
        if rounds[key] == 1 and key.endswith("3"):
            raise TemporaryError

    keys = [f"ns/policy-{i}" for i in range(2000)]
    started = time.perf_counter()
    tasks = [asyncio.create_task(worker(queue, reconcile, [])) for _ in range(8)]
    for key in keys:
        queue.add(key)
    await asyncio.sleep(60)
    await queue.drain()
    await asyncio.gather(*tasks)
    assert overlaps == []
    assert all(rounds[k] == (2 if k[-1] in "37" else 1) for k in keys)
    assert time.perf_counter() - started < 1.0, "60 s of loop time must not take real time"


async def test_drain_lets_in_flight_writes_finish_within_a_deadline() -> None:
    """On shutdown, drain waits for a 3 s in-flight write; the worker then returns."""
    loop = asyncio.get_running_loop()
    queue = _queue()
    finished: list[float] = []

    async def reconcile(key: str) -> None:
        await asyncio.sleep(3.0)
        finished.append(loop.time())

    task = asyncio.create_task(worker(queue, reconcile, []))
    queue.add("a")
    queue.add("b")
    await asyncio.sleep(1.0)
    async with asyncio.timeout(5.0):
        await queue.drain()
    assert loop.time() == 3.0
    await task
    assert finished == [3.0]
