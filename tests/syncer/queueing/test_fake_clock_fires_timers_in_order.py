"""The fake clock moves only when told, fires timers in deadline order at their exact time,
and wakes sleepers."""

from __future__ import annotations

import asyncio
import functools

import pytest

from syncer.runtime import clock as clocks


def test_time_stands_still_until_advanced() -> None:
    """now() starts at the given start and changes only through advance()."""
    clock = clocks.FakeClock(start=100.0)
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5


def test_timers_fire_in_deadline_order_at_their_deadline(clock: clocks.FakeClock) -> None:
    """Each callback sees now() equal to its own deadline; ties fire in scheduling order."""
    fired: list[tuple[str, float]] = []

    def record(name: str) -> None:
        fired.append((name, clock.now()))

    for name, when in [("c", 3.0), ("a", 1.0), ("b1", 2.0), ("b2", 2.0)]:
        clock.call_at(when, functools.partial(record, name))
    clock.advance(10.0)
    assert fired == [("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("c", 3.0)]
    assert clock.now() == 10.0


def test_timers_scheduled_by_callbacks_fire_within_the_same_advance(
    clock: clocks.FakeClock,
) -> None:
    """A callback that schedules another timer inside the window gets it fired too."""
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.now())
        clock.call_at(clock.now() + 1.0, tick)

    clock.call_at(1.0, tick)
    clock.advance(3.5)
    assert fired == [1.0, 2.0, 3.0]
    assert clock.next_deadline() == 4.0


def test_cancelled_timers_do_not_fire(clock: clocks.FakeClock) -> None:
    """cancel() before the deadline prevents the callback and frees the slot."""
    fired: list[str] = []
    timer = clock.call_at(1.0, lambda: fired.append("x"))
    timer.cancel()
    assert (clock.pending, clock.next_deadline()) == (0, None)
    clock.advance(2.0)
    assert fired == []


def test_past_deadlines_fire_at_the_current_time(clock: clocks.FakeClock) -> None:
    """A timer scheduled in the past fires on the next advance without moving time back."""
    clock.advance(5.0)
    seen: list[float] = []
    clock.call_at(1.0, lambda: seen.append(clock.now()))
    clock.advance(0.0)
    assert seen == [5.0]


def test_time_cannot_go_backwards(clock: clocks.FakeClock) -> None:
    """advance() with a negative step is refused."""
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1.0)


async def test_sleepers_wake_at_their_deadline(clock: clocks.FakeClock) -> None:
    """A task sleeping 3 s resumes after advance(3) and the next loop iteration, not before."""
    task = asyncio.create_task(clock.sleep(3.0))
    await clock.settle()
    clock.advance(2.0)
    await clock.settle()
    assert not task.done()
    clock.advance(1.0)
    await clock.settle()
    assert task.done()


async def test_run_for_lets_periodic_tasks_tick(clock: clocks.FakeClock) -> None:
    """run_for() lets a sleep loop run between timers, so each period is observed."""
    ticks: list[float] = []

    async def periodic() -> None:
        while True:
            ticks.append(clock.now())
            await clock.sleep(2.0)

    task = asyncio.create_task(periodic())
    await clock.run_for(7.0)
    task.cancel()
    assert ticks == [0.0, 2.0, 4.0, 6.0]


async def test_cancelled_sleep_cancels_its_timer(clock: clocks.FakeClock) -> None:
    """Cancelling a sleeping task leaves no pending timer behind."""
    task = asyncio.create_task(clock.sleep(10.0))
    await clock.settle()
    assert clock.pending == 1
    task.cancel()
    await clock.settle()
    assert clock.pending == 0


async def test_loop_clock_uses_loop_time() -> None:
    """The real clock reads the running loop's time and schedules on the loop."""
    loop = asyncio.get_running_loop()
    real = clocks.LoopClock()
    before = loop.time()
    now = real.now()
    assert before <= now <= loop.time()
    fired = asyncio.Event()
    real.call_at(real.now(), fired.set)
    await asyncio.wait_for(fired.wait(), timeout=0.5)
