"""``clock.wait_for`` bounds a call on the injected clock (the elector's attempt and release
deadlines): it times out when that clock reaches the deadline, not the event loop's."""

from __future__ import annotations

import asyncio

import pytest

from syncer.runtime import clock as clocks


async def test_a_call_is_cancelled_exactly_at_the_clock_deadline(clock: clocks.FakeClock) -> None:
    """A call that never ends raises TimeoutError once the clock reaches the deadline, and is
    cancelled; a moment before, it still runs."""
    hanging = asyncio.Event()
    cancelled: list[float] = []

    async def never() -> None:
        try:
            await hanging.wait()
        except asyncio.CancelledError:
            cancelled.append(clock.now())
            raise

    bounded = asyncio.create_task(clocks.wait_for(clock, never(), 2.0))
    await clock.run_for(1.99)
    assert not bounded.done()
    await clock.run_for(0.01)
    with pytest.raises(TimeoutError):
        await bounded
    assert cancelled == [2.0]
    assert clock.pending == 0


async def test_a_result_in_time_is_returned_and_the_timer_dropped(clock: clocks.FakeClock) -> None:
    """A call that ends before the deadline returns its result; no timer is left behind."""

    async def quick() -> str:
        await clock.sleep(1.0)
        return "done"

    bounded = asyncio.create_task(clocks.wait_for(clock, quick(), 2.0))
    await clock.run_for(1.0)
    assert await bounded == "done"
    assert clock.pending == 0


async def test_cancelling_the_caller_is_a_cancellation_not_a_timeout(
    clock: clocks.FakeClock,
) -> None:
    """The caller's own cancellation propagates as such (shutdown is not a timeout) and ends
    the call it waits for."""
    inner_cancelled = asyncio.Event()

    async def never() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            inner_cancelled.set()

    bounded = asyncio.create_task(clocks.wait_for(clock, never(), 2.0))
    await clock.settle()
    bounded.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded
    assert inner_cancelled.is_set()
    assert clock.pending == 0
