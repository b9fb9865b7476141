"""Delayed adds of one key collapse: the earliest wins and an immediate add supersedes them."""

from __future__ import annotations

import pytest

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks


async def _take(queue: queueing.WorkQueue[str]) -> str:
    async with queue.get() as key:
        return key


async def test_delayed_key_is_due_exactly_at_its_deadline(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A key added with a 5 s delay is absent at 4.999 s and present at 5 s."""
    queue.add_after("a", 5.0)
    assert (len(queue), queue.waiting) == (0, 1)
    clock.advance(4.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert (len(queue), queue.waiting) == (1, 0)


@pytest.mark.parametrize(
    "delays",
    [
        pytest.param([5.0, 10.0], id="earlier-then-later"),
        pytest.param([10.0, 5.0], id="later-then-earlier"),
        pytest.param([7.0, 5.0, 9.0, 6.0], id="shuffled"),
    ],
)
async def test_earliest_delayed_add_wins(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock, delays: list[float]
) -> None:
    """Of several delayed adds the key becomes due at the earliest, once, and not again."""
    for delay in delays:
        queue.add_after("a", delay)
    assert queue.waiting == 1
    assert clock.pending == 1
    clock.advance(4.0)
    assert len(queue) == 0
    clock.advance(1.0)
    assert await _take(queue) == "a"
    clock.advance(100.0)
    assert len(queue) == 0


async def test_immediate_add_supersedes_a_delayed_add(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """An add while a delayed add is pending makes the key due now and cancels the delayed one."""
    queue.add_after("a", 5.0)
    queue.add("a")
    assert (len(queue), queue.waiting, clock.pending) == (1, 0, 0)
    assert await _take(queue) == "a"
    clock.advance(5.0)
    assert len(queue) == 0


async def test_delayed_add_of_a_due_key_is_ignored(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A delayed add of a key that is already due schedules nothing."""
    queue.add("a")
    queue.add_after("a", 5.0)
    assert (queue.waiting, clock.pending) == (0, 0)
    assert await _take(queue) == "a"
    clock.advance(5.0)
    assert len(queue) == 0


@pytest.mark.parametrize("delay", [pytest.param(0.0, id="zero"), pytest.param(-1.0, id="negative")])
async def test_non_positive_delay_is_an_immediate_add(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock, delay: float
) -> None:
    """add_after with a delay of zero or less is the same as add."""
    queue.add_after("a", delay)
    assert (len(queue), clock.pending) == (1, 0)


async def test_delayed_add_made_during_processing_fires_after_done(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A retry scheduled from inside a claim is handed out when its delay has passed."""
    queue.add("a")
    async with queue.get() as key:
        queue.add_after(key, 2.0)
    assert len(queue) == 0
    clock.advance(2.0)
    assert await _take(queue) == "a"


async def test_different_keys_do_not_collapse(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """Delayed adds of distinct keys each fire at their own deadline."""
    queue.add_after("b", 2.0)
    queue.add_after("a", 1.0)
    clock.advance(1.0)
    assert await _take(queue) == "a"
    assert len(queue) == 0
    clock.advance(1.0)
    assert await _take(queue) == "b"
