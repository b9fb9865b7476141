"""The metrics hook sees depth, adds, retries and time in queue without the queue knowing who
listens."""

from __future__ import annotations

import dataclasses

import pytest

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting


@dataclasses.dataclass
class RecordingMetrics:
    """A QueueMetrics that keeps everything it is told."""

    depths: list[int] = dataclasses.field(default_factory=list)
    adds: int = 0
    retries: int = 0
    waits: list[float] = dataclasses.field(default_factory=list)

    def depth(self, depth: int) -> None:
        self.depths.append(depth)

    def added(self) -> None:
        self.adds += 1

    def retried(self) -> None:
        self.retries += 1

    def waited(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def metrics() -> RecordingMetrics:
    """A fresh recorder."""
    return RecordingMetrics()


@pytest.fixture
def observed(clock: clocks.FakeClock, metrics: RecordingMetrics) -> queueing.WorkQueue[str]:
    """A queue on fake time reporting to the recorder, with a 1 s base backoff."""
    limiter = ratelimiting.ItemExponentialLimiter(
        settings=ratelimiting.ItemBackoffSettings(base=1.0, cap=8.0)
    )
    return queueing.WorkQueue(limiter=limiter, clock=clock, metrics=metrics)


async def test_depth_follows_every_change(
    observed: queueing.WorkQueue[str], metrics: RecordingMetrics
) -> None:
    """Depth is reported after each key joins or leaves the ready queue, not on duplicates."""
    for key in "aab":
        observed.add(key)
    async with observed.get():
        pass
    assert metrics.depths == [1, 2, 1]


async def test_adds_count_keys_that_became_due(
    observed: queueing.WorkQueue[str], metrics: RecordingMetrics
) -> None:
    """Collapsed duplicates are not counted; a deferred re-add is counted once."""
    observed.add("a")
    observed.add("a")
    async with observed.get():
        observed.add("a")
        observed.add("a")
    assert metrics.adds == 2


async def test_time_in_queue_is_measured_from_becoming_due(
    observed: queueing.WorkQueue[str], metrics: RecordingMetrics, clock: clocks.FakeClock
) -> None:
    """A key due at t=1 and handed out at t=4 waited 3 s; duplicate adds do not reset that."""
    clock.advance(1.0)
    observed.add("a")
    clock.advance(2.0)
    observed.add("a")
    clock.advance(1.0)
    async with observed.get():
        pass
    assert metrics.waits == [3.0]


async def test_retries_are_counted(
    observed: queueing.WorkQueue[str], metrics: RecordingMetrics, clock: clocks.FakeClock
) -> None:
    """Each rate-limited re-add counts one retry; the delayed key then counts as an add (once,
    when the server's Retry-After of 5 s is over)."""
    observed.add_rate_limited("a")
    observed.add_rate_limited("a", at_least=5.0)
    assert (metrics.retries, metrics.adds) == (2, 0)
    clock.advance(4.999)
    assert metrics.adds == 0
    clock.advance(0.001)
    assert (metrics.adds, metrics.depths) == (1, [1])


def test_recorder_satisfies_the_protocol(metrics: RecordingMetrics) -> None:
    """A plain class with the four methods is accepted where QueueMetrics is expected."""
    hook: queueing.QueueMetrics = metrics
    hook.depth(3)
    assert metrics.depths == [3]


async def test_a_held_key_leaves_the_reported_depth(
    observed: queueing.WorkQueue[str], clock: clocks.FakeClock, metrics: RecordingMetrics
) -> None:
    """A Retry-After hold on a queued key takes it out of the ready queue, and the depth says so
    (a dashboard would otherwise show work that cannot start); it counts again when due."""
    observed.add("a")
    observed.add_rate_limited("a", at_least=5.0)
    assert metrics.depths == [1, 0]
    clock.advance(5.0)
    assert metrics.depths[-1] == 1
