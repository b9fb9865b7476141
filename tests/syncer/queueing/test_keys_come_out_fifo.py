"""The queue is fair: keys are handed out in the order they became due."""

from __future__ import annotations

import asyncio

import pytest

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(["a"], id="one"),
        pytest.param(["c", "b", "a"], id="reverse-alphabetical"),
        pytest.param([f"k{i}" for i in range(100)], id="hundred"),
    ],
)
async def test_immediate_adds_come_out_in_add_order(
    queue: queueing.WorkQueue[str], keys: list[str]
) -> None:
    """Keys added one after another are handed out in the same order."""
    for key in keys:
        queue.add(key)
    got = []
    for _ in keys:
        async with queue.get() as key:
            got.append(key)
    assert got == keys


async def test_delayed_keys_join_the_tail_when_due(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """A delayed key that becomes due queues behind the keys already due."""
    queue.add_after("late", 1.0)
    queue.add("a")
    queue.add("b")
    clock.advance(1.0)
    queue.add("c")
    got = []
    for _ in range(4):
        async with queue.get() as key:
            got.append(key)
    assert got == ["a", "b", "late", "c"]


async def test_delayed_keys_due_together_keep_their_add_order(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """Delayed keys due at the same instant come out in the order they were added."""
    for key in "xyz":
        queue.add_after(key, 2.0)
    clock.advance(2.0)
    assert [await _take(queue) for _ in range(3)] == ["x", "y", "z"]


async def test_blocked_workers_are_served_in_arrival_order(
    queue: queueing.WorkQueue[str],
) -> None:
    """Workers blocked in get() receive keys in the order they started waiting."""
    served: list[tuple[int, str]] = []

    async def worker(n: int) -> None:
        async with queue.get() as key:
            served.append((n, key))

    tasks = []
    for n in range(3):
        tasks.append(asyncio.create_task(worker(n)))
        await asyncio.sleep(0)
    for key in "abc":
        queue.add(key)
    await asyncio.gather(*tasks)
    assert served == [(0, "a"), (1, "b"), (2, "c")]


async def _take(queue: queueing.WorkQueue[str]) -> str:
    async with queue.get() as key:
        return key
