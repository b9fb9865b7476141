"""Adding a key that is already due does nothing: a burst of events costs one reconcile."""

from __future__ import annotations

import asyncio

import pytest

from syncer.pipeline import queueing


async def take(queue: queueing.WorkQueue[str]) -> str:
    """Claim one key and mark it done at once."""
    async with queue.get() as key:
        return key


async def test_repeated_adds_hand_out_the_key_once(queue: queueing.WorkQueue[str]) -> None:
    """Ten adds of one key leave one entry that is handed out once."""
    for _ in range(10):
        queue.add("a")
    assert len(queue) == 1
    assert await take(queue) == "a"
    assert len(queue) == 0


@pytest.mark.parametrize(
    ("adds", "handed_out"),
    [
        pytest.param("abab", "ab", id="alternating"),
        pytest.param("aaab", "ab", id="burst-then-other"),
        pytest.param("baaab", "ba", id="duplicate-keeps-first-position"),
        pytest.param("abcba", "abc", id="palindrome"),
    ],
)
async def test_duplicates_keep_the_first_position(
    queue: queueing.WorkQueue[str], adds: str, handed_out: str
) -> None:
    """A duplicate add does not move the key: keys come out in order of their first add."""
    for key in adds:
        queue.add(key)
    assert [await take(queue) for _ in handed_out] == list(handed_out)
    assert len(queue) == 0


async def test_key_can_be_added_again_after_it_was_handed_out(
    queue: queueing.WorkQueue[str],
) -> None:
    """Once a key was processed, a new add makes it due again."""
    queue.add("a")
    assert await take(queue) == "a"
    queue.add("a")
    assert await take(queue) == "a"


async def test_a_thousand_keys_each_come_out_once(queue: queueing.WorkQueue[str]) -> None:
    """Interleaved duplicate adds of many keys yield each key exactly once, in first-add order."""
    keys = [f"k{i}" for i in range(1000)]
    for key in keys:
        queue.add(key)
        queue.add(keys[0])
    got = [await take(queue) for _ in keys]
    assert got == keys
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await take(queue)
