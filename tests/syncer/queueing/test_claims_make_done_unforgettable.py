"""A claim marks its key done however the block ends, takes nothing unless entered, and loses
no key when its worker is cancelled."""

from __future__ import annotations

import asyncio

import pytest

from syncer.pipeline import queueing


async def test_get_without_async_with_takes_nothing(queue: queueing.WorkQueue[str]) -> None:
    """Calling get() and dropping the claim leaves the key queued."""
    queue.add("a")
    queue.get()
    assert (len(queue), queue.processing) == (1, 0)


async def test_a_claim_is_single_use(queue: queueing.WorkQueue[str]) -> None:
    """Entering the same claim twice is refused."""
    queue.add("a")
    queue.add("b")
    claim = queue.get()
    async with claim:
        pass
    with pytest.raises(RuntimeError, match="single use"):
        async with claim:
            pass
    assert len(queue) == 1


async def test_cancelled_body_marks_the_key_done(queue: queueing.WorkQueue[str]) -> None:
    """Cancelling a worker mid-processing releases its key."""
    queue.add("a")
    started = asyncio.Event()

    async def worker() -> None:
        async with queue.get():
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(worker())
    await started.wait()
    assert queue.processing == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert queue.processing == 0


async def test_worker_cancelled_while_waiting_loses_no_key(queue: queueing.WorkQueue[str]) -> None:
    """A waiting worker cancelled right after being woken passes the key to the next worker."""
    got: list[str] = []

    async def worker() -> None:
        async with queue.get() as key:
            got.append(key)

    first = asyncio.create_task(worker())
    second = asyncio.create_task(worker())
    await asyncio.sleep(0)
    queue.add("a")  # wakes `first`, which is cancelled before it can run
    first.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert got == ["a"]
    assert (len(queue), queue.processing) == (0, 0)


async def test_many_workers_cancelled_while_waiting_leave_no_getter(
    queue: queueing.WorkQueue[str],
) -> None:
    """Workers cancelled in get() unregister, so a later key goes to a live worker."""

    async def worker() -> str:
        async with queue.get() as key:
            return key

    dead = [asyncio.create_task(worker()) for _ in range(5)]
    await asyncio.sleep(0)
    for task in dead:
        task.cancel()
    await asyncio.gather(*dead, return_exceptions=True)
    live = asyncio.create_task(worker())
    await asyncio.sleep(0)
    queue.add("a")
    assert await live == "a"
