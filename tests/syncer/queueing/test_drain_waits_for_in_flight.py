"""drain() shuts the queue down and returns only when every claimed key is done."""

from __future__ import annotations

import asyncio

from syncer.pipeline import queueing


async def test_drain_returns_at_once_when_nothing_is_in_flight(
    queue: queueing.WorkQueue[str],
) -> None:
    """With no claimed key, drain() completes without waiting and shuts the queue down."""
    queue.add("a")
    async with asyncio.timeout(0):
        await queue.drain()
    assert queue.shutting_down


async def test_drain_waits_for_every_in_flight_key(queue: queueing.WorkQueue[str]) -> None:
    """drain() stays pending until the last of several claimed keys is done."""
    releases = {key: asyncio.Event() for key in "abc"}
    holding = asyncio.Semaphore(0)

    async def worker() -> None:
        async with queue.get() as key:
            holding.release()
            await releases[key].wait()

    tasks = [asyncio.create_task(worker()) for _ in releases]
    for key in releases:
        queue.add(key)
    for _ in releases:
        await holding.acquire()
    drain = asyncio.create_task(queue.drain())
    for key in "ab":
        releases[key].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not drain.done(), f"drain finished with {queue.processing} key(s) in flight"
    releases["c"].set()
    await drain
    await asyncio.gather(*tasks)
    assert queue.processing == 0


async def test_readd_of_an_in_flight_key_is_dropped_after_drain(
    queue: queueing.WorkQueue[str],
) -> None:
    """A key re-added before shutdown is not re-queued when its processing ends after it."""
    queue.add("a")
    async with queue.get() as key:
        queue.add(key)
        queue.shut_down()
    await queue.drain()
    assert len(queue) == 0
