"""Rate-limited re-adds follow the limiter's delays exactly, honour Retry-After and reset on
forget."""

from __future__ import annotations

import pytest

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting


async def _fail_until(
    queue: queueing.WorkQueue[str],
    clock: clocks.FakeClock,
    *,
    failures: int,
    retry_after: float = 0.0,
) -> list[float]:
    """Process key "a" on fake time, failing ``failures`` times; return the hand-out times."""
    handed_out: list[float] = []
    queue.add("a")
    while True:
        async with queue.get() as key:
            handed_out.append(clock.now())
            if len(handed_out) > failures:
                queue.forget(key)
                return handed_out
            queue.add_rate_limited(key, at_least=retry_after)
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.advance(deadline - clock.now())


@pytest.mark.parametrize(
    ("failures", "times"),
    [
        pytest.param(0, [0.0], id="success-first-time"),
        pytest.param(1, [0.0, 1.0], id="one-failure"),
        pytest.param(4, [0.0, 1.0, 3.0, 7.0, 15.0], id="doubling"),
        pytest.param(6, [0.0, 1.0, 3.0, 7.0, 15.0, 23.0, 31.0], id="capped-at-8s"),
    ],
)
async def test_retry_times_double_up_to_the_cap(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock, failures: int, times: list[float]
) -> None:
    """Each failure waits base * 2**n (1 s, 2 s, 4 s, 8 s, 8 s ...) before the next hand-out."""
    assert await _fail_until(queue, clock, failures=failures) == times


async def test_retry_after_longer_than_the_backoff_wins(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A Retry-After of 5 s overrides the 1, 2, 4 s backoff but not the 8 s cap step."""
    times = await _fail_until(queue, clock, failures=4, retry_after=5.0)
    assert times == [0.0, 5.0, 10.0, 15.0, 23.0]


async def test_retry_after_counts_as_a_failure(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A re-add honouring Retry-After still advances the key's backoff."""
    queue.add("a")
    async with queue.get() as key:
        queue.add_rate_limited(key, at_least=30.0)
    assert queue.num_requeues("a") == 1
    assert clock.next_deadline() == 30.0


async def test_forget_restarts_the_backoff(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """After a success (forget), the next failure waits the base delay again."""
    await _fail_until(queue, clock, failures=3)
    assert queue.num_requeues("a") == 0
    start = clock.now()
    assert await _fail_until(queue, clock, failures=1) == [start, start + 1.0]


async def test_num_requeues_counts_failures_per_key(queue: queueing.WorkQueue[str]) -> None:
    """num_requeues counts each key's rate-limited re-adds separately."""
    for _ in range(3):
        queue.add_rate_limited("a")
    queue.add_rate_limited("b")
    assert (queue.num_requeues("a"), queue.num_requeues("b"), queue.num_requeues("c")) == (3, 1, 0)


async def test_overall_bucket_spreads_retries_of_many_keys(clock: clocks.FakeClock) -> None:
    """With the max-of limiter, retries beyond the burst wait for the bucket, in order."""
    limiter = ratelimiting.controller_limiter(
        clock=clock,
        item=ratelimiting.ItemBackoffSettings(base=0.25, cap=60.0),
        bucket=ratelimiting.TokenBucketSettings(qps=2.0, burst=2),
    )
    queue: queueing.WorkQueue[str] = queueing.WorkQueue(limiter=limiter, clock=clock)
    for key in "abcde":
        queue.add_rate_limited(key)
    due: list[tuple[float, str]] = []
    while (deadline := clock.next_deadline()) is not None:
        clock.advance(deadline - clock.now())
        while len(queue):
            async with queue.get() as key:
                due.append((clock.now(), key))
    assert due == [(0.25, "a"), (0.25, "b"), (0.5, "c"), (1.0, "d"), (1.5, "e")]
