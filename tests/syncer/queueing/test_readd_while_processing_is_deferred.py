"""A key added while a worker processes it is handed out again only after that worker is done."""

from __future__ import annotations

import asyncio

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks


async def test_readd_is_not_handed_to_another_worker(queue: queueing.WorkQueue[str]) -> None:
    """While a key is claimed, re-adding it leaves nothing for a second worker."""
    queue.add("a")
    async with queue.get() as key:
        queue.add(key)
        assert len(queue) == 0
        second = asyncio.create_task(_take(queue))
        await asyncio.sleep(0)
        assert not second.done()
    assert await second == "a"


async def test_many_readds_during_processing_give_one_more_round(
    queue: queueing.WorkQueue[str],
) -> None:
    """Several re-adds during one processing collapse into exactly one more hand-out."""
    queue.add("a")
    async with queue.get():
        for _ in range(5):
            queue.add("a")
    assert len(queue) == 1
    assert await _take(queue) == "a"
    assert len(queue) == 0


async def test_without_readd_done_does_not_requeue(queue: queueing.WorkQueue[str]) -> None:
    """Finishing a key that was not re-added leaves the queue empty."""
    queue.add("a")
    assert await _take(queue) == "a"
    assert len(queue) == 0
    assert queue.processing == 0


async def test_deferred_key_queues_behind_keys_already_due(
    queue: queueing.WorkQueue[str],
) -> None:
    """The deferred key joins the tail when its processing ends, not its old position."""
    queue.add("a")
    async with queue.get():
        queue.add("a")
        queue.add("b")
    queue.add("c")
    assert [await _take(queue) for _ in range(3)] == ["b", "a", "c"]


async def test_delayed_add_firing_during_processing_is_deferred(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A delayed add that comes due while the key is processed waits for the worker too."""
    queue.add("a")
    async with queue.get():
        queue.add_after("a", 1.0)
        clock.advance(1.0)
        assert len(queue) == 0
    assert await _take(queue) == "a"


async def test_failure_in_the_body_still_marks_the_key_done(
    queue: queueing.WorkQueue[str],
) -> None:
    """An exception escaping the claim marks the key done, so a re-add is handed out again."""
    queue.add("a")
    try:
        async with queue.get() as key:
            queue.add(key)
            raise RuntimeError("reconcile failed")
    except RuntimeError:
        pass
    assert queue.processing == 0
    assert await _take(queue) == "a"


async def _take(queue: queueing.WorkQueue[str]) -> str:
    async with queue.get() as key:
        return key
