"""Shutdown stops intake and hand-out and wakes every worker blocked in get()."""

from __future__ import annotations

import asyncio

import pytest

from syncer.pipeline import queueing, reconciling
from syncer.runtime import clock as clocks
from tests.support import workers as rigs
from translate import ObjectKey


@pytest.mark.parametrize("workers", [pytest.param(1, id="one"), pytest.param(8, id="eight")])
async def test_blocked_workers_return_on_shutdown(clock: clocks.FakeClock, workers: int) -> None:
    """Every production worker loop waiting in get() returns cleanly after shut_down()."""
    seen: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> reconciling.Outcome:
        seen.append(key)
        return rigs.done()

    rig = rigs.rig(reconcile, clock=clock)
    tasks = [asyncio.create_task(rig.workers.run()) for _ in range(workers)]
    await asyncio.sleep(0)
    rig.queue.shut_down()
    assert await asyncio.gather(*tasks) == [None] * workers
    assert seen == []


async def test_get_after_shutdown_raises_at_once(queue: queueing.WorkQueue[str]) -> None:
    """A get() entered after shutdown raises instead of waiting."""
    queue.shut_down()
    with pytest.raises(queueing.QueueShutDown):
        async with queue.get():
            pass


async def test_queued_keys_are_not_handed_out_after_shutdown(
    queue: queueing.WorkQueue[str],
) -> None:
    """Keys still queued at shutdown are left for the next process to relist."""
    queue.add("a")
    queue.shut_down()
    with pytest.raises(queueing.QueueShutDown):
        async with queue.get():
            pass


async def test_adds_after_shutdown_are_ignored(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """add, add_after and add_rate_limited do nothing once the queue is shut down."""
    queue.shut_down()
    queue.add("a")
    queue.add_after("b", 1.0)
    queue.add_rate_limited("c")
    assert (len(queue), queue.waiting, clock.pending) == (0, 0, 0)


async def test_shutdown_cancels_pending_delayed_adds(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """Delayed adds pending at shutdown never fire."""
    queue.add_after("a", 1.0)
    queue.add_rate_limited("b")
    queue.shut_down()
    assert (queue.waiting, clock.pending) == (0, 0)
    clock.advance(10.0)
    assert len(queue) == 0


async def test_shutdown_is_idempotent(queue: queueing.WorkQueue[str]) -> None:
    """A second shut_down() is harmless."""
    queue.shut_down()
    queue.shut_down()
    assert queue.shutting_down


async def test_workers_stop_after_processing_what_they_hold(
    queue: queueing.WorkQueue[str],
) -> None:
    """A worker holding a key at shutdown finishes it, then stops at its next get()."""
    seen: list[str] = []
    release = asyncio.Event()

    async def slow_worker() -> str:
        while True:
            try:
                async with queue.get() as key:
                    await release.wait()
                    seen.append(key)
            except queueing.QueueShutDown:
                return "stopped"

    task = asyncio.create_task(slow_worker())
    queue.add("a")
    queue.add("b")
    await asyncio.sleep(0)
    queue.shut_down()
    release.set()
    assert await task == "stopped"
    assert seen == ["a"]
