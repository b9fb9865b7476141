"""A server's ``Retry-After`` holds the key: no later add (an event, a resync) hands it out
before the server's time, though a new change is still processed as soon as that time comes.
A retry of our own backoff without ``Retry-After`` is not held: a new change goes at once."""

from __future__ import annotations

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting


async def _fail_once(queue: queueing.WorkQueue[str], *, retry_after: float) -> None:
    """Hand out "a" and fail it, with the server asking for ``retry_after`` seconds."""
    queue.add("a")
    async with queue.get() as key:
        queue.add_rate_limited(key, at_least=retry_after)


async def test_an_add_does_not_pull_a_retry_before_retry_after(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """After a 429 with Retry-After 5 s (backoff 1 s), an add at 1 s still waits until 5 s."""
    await _fail_once(queue, retry_after=5.0)
    clock.advance(1.0)
    queue.add("a")
    assert (len(queue), queue.waiting) == (0, 1)
    clock.advance(3.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert (len(queue), queue.waiting) == (1, 0)


async def test_a_new_change_is_due_at_retry_after_not_at_the_longer_backoff(
    clock: clocks.FakeClock,
) -> None:
    """When the backoff (8 s) is longer than Retry-After (2 s), a new change waits only 2 s."""
    limiter = ratelimiting.ItemExponentialLimiter(
        settings=ratelimiting.ItemBackoffSettings(base=8.0, cap=8.0)
    )
    queue: queueing.WorkQueue[str] = queueing.WorkQueue(limiter=limiter, clock=clock)
    await _fail_once(queue, retry_after=2.0)
    assert clock.next_deadline() == 8.0
    queue.add("a")
    clock.advance(1.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert len(queue) == 1


async def test_an_add_while_the_throttled_key_is_processed_waits_too(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """An event that arrives during the reconcile that then gets a 429 is processed at
    Retry-After, not right after the reconcile ends."""
    queue.add("a")
    async with queue.get() as key:
        queue.add(key)  # an event mid-reconcile
        queue.add_rate_limited(key, at_least=3.0)
    assert len(queue) == 0
    clock.advance(2.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert len(queue) == 1


async def test_a_hold_ends_with_the_retry(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """Once the held retry was handed out, later adds are immediate again."""
    await _fail_once(queue, retry_after=2.0)
    clock.advance(2.0)
    async with queue.get() as key:
        queue.forget(key)
    queue.add("a")
    assert len(queue) == 1


async def test_without_retry_after_a_new_change_goes_at_once(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A plain backoff retry (no server pushback) is superseded by an add, as before."""
    await _fail_once(queue, retry_after=0.0)
    queue.add("a")
    assert (len(queue), queue.waiting) == (1, 0)


async def test_a_second_retry_after_extends_the_hold(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A longer Retry-After given while a shorter hold is pending moves the retry later."""
    await _fail_once(queue, retry_after=2.0)
    queue.add_rate_limited("a", at_least=6.0)
    queue.add("a")
    clock.advance(5.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert len(queue) == 1
