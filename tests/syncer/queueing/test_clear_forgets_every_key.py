"""``clear`` (a replica that stops leading) drops every queued, delayed and held key with its
failure history, and leaves keys being processed claimed but not handed out again."""

from __future__ import annotations

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks


async def test_clear_drops_due_delayed_held_and_failures(
    queue: queueing.WorkQueue[str], clock: clocks.FakeClock
) -> None:
    """After clear nothing is due, nothing fires later, and backoff starts from base again."""
    queue.add("due")
    queue.add_after("later", 3.0)
    queue.add_rate_limited("failed")
    queue.add_rate_limited("throttled", at_least=30.0)
    assert queue.tracked == 4
    queue.clear()
    assert (len(queue), queue.waiting, queue.tracked) == (0, 0, 0)
    assert queue.num_requeues("failed") == 0
    clock.advance(60.0)
    assert len(queue) == 0
    queue.add("throttled")
    assert len(queue) == 1, "a hold does not survive clear"


async def test_clear_leaves_claims_alone_but_drops_their_readds(
    queue: queueing.WorkQueue[str],
) -> None:
    """A key being processed stays claimed; an add that came meanwhile is dropped."""
    queue.add("a")
    async with queue.get() as key:
        queue.add(key)
        queue.clear()
        assert (queue.processing, queue.tracked) == (1, 1)
    assert (len(queue), queue.processing, queue.tracked) == (0, 0, 0)
