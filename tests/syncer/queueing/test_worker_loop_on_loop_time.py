"""The production worker loop (:class:`working.Workers`) under looptime: retries, Retry-After,
giving up and drain run minutes of event-loop time in milliseconds of wall time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from syncer.pipeline import reconciling
from syncer.runtime import clock as clocks
from syncer.runtime import errors
from tests.support import workers as rigs
from translate import ObjectKey

pytestmark = pytest.mark.looptime


@pytest.fixture(autouse=True)
def captured_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """The loop's log lines, kept as dicts instead of rendered: thousands of retries must fit
    the folder's wall-clock budget on a loaded machine."""
    with structlog.testing.capture_logs() as logs:
        yield logs


MAX_RETRIES = 5


def _temporary() -> errors.ServerError:
    return errors.ServerError(503, reason="ServiceUnavailable", message="try again")


async def _run(rig: rigs.Rig, *, count: int = 1, until: float) -> None:
    """Run ``count`` workers for ``until`` seconds of loop time, then drain and stop them."""
    tasks = [asyncio.create_task(rig.workers.run()) for _ in range(count)]
    await asyncio.sleep(until)
    rig.queue.shut_down()
    await rig.queue.drain()
    await asyncio.gather(*tasks)


async def test_failures_retry_on_the_exact_backoff_schedule() -> None:
    """A key failing three times is attempted at loop times 0, 1, 3 and 7, then forgotten."""
    loop = asyncio.get_running_loop()
    attempts: list[float] = []

    async def reconcile(key: ObjectKey) -> reconciling.Outcome:
        attempts.append(loop.time())
        if len(attempts) <= 3:
            raise _temporary()
        return rigs.done()

    rig = rigs.rig(reconcile, clock=clocks.LoopClock(), max_retries=MAX_RETRIES)
    rig.queue.add(rigs.key("a"))
    await _run(rig, until=100)
    assert attempts == [0.0, 1.0, 3.0, 7.0]
    assert rig.queue.num_requeues(rigs.key("a")) == 0
    assert rig.metrics.results == {"error": 3, "updated": 1}


async def test_retry_after_is_honoured_and_giving_up_forgets() -> None:
    """A 429 waits its Retry-After; a key failing past MAX_RETRIES is given up and forgotten,
    with one Warning event and one error counted."""
    loop = asyncio.get_running_loop()
    attempts: dict[str, list[float]] = {"throttled": [], "broken": []}

    async def reconcile(key: ObjectKey) -> reconciling.Outcome:
        attempts[key.name].append(loop.time())
        if key.name == "throttled" and len(attempts[key.name]) == 1:
            raise errors.TooManyRequests(429, reason="TooManyRequests", retry_after=30.0)
        if key.name == "broken":
            raise _temporary()
        return rigs.done()

    rig = rigs.rig(reconcile, clock=clocks.LoopClock(), max_retries=MAX_RETRIES, virtual=["broken"])
    rig.queue.add(rigs.key("throttled"))
    rig.queue.add(rigs.key("broken"))
    await _run(rig, until=120)
    assert attempts["throttled"] == [0.0, 30.0]
    assert attempts["broken"] == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0]
    assert [e[:3] for e in rig.told.events] == [("Warning", "broken", "SyncError")]
    assert rig.metrics.errors == {"ApiError": 1}
    assert rig.queue.num_requeues(rigs.key("broken")) == 0


async def test_many_workers_never_share_a_key_and_finish_everything() -> None:
    """Eight workers on 1,000 keys with re-adds mid-flight process each key alone, none lost."""
    in_flight: set[ObjectKey] = set()
    overlaps: list[ObjectKey] = []
    rounds: dict[ObjectKey, int] = {}
    rig: rigs.Rig

    async def reconcile(key: ObjectKey) -> reconciling.Outcome:
        if key in in_flight:
            overlaps.append(key)
        in_flight.add(key)
        rounds[key] = rounds.get(key, 0) + 1
        if rounds[key] == 1 and key.name.endswith("7"):
            rig.queue.add(key)  # an event for the same object arrives mid-reconcile
        await asyncio.sleep(0.01)  # an API round trip
        in_flight.discard(key)
        if rounds[key] == 1 and key.name.endswith("3"):
            raise _temporary()
        return rigs.done()

    rig = rigs.rig(reconcile, clock=clocks.LoopClock(), base=0.5)
    keys = [rigs.key(f"policy-{i}") for i in range(1000)]
    for key in keys:
        rig.queue.add(key)
    await _run(rig, count=8, until=60)
    assert overlaps == []
    assert all(rounds[k] == (2 if k.name[-1] in "37" else 1) for k in keys)


async def test_drain_lets_in_flight_writes_finish_within_a_deadline() -> None:
    """On shutdown, drain waits for a 3 s in-flight write; the worker then returns, and the
    key still queued behind it is not started."""
    loop = asyncio.get_running_loop()
    finished: list[float] = []

    async def reconcile(key: ObjectKey) -> reconciling.Outcome:
        await asyncio.sleep(3.0)
        finished.append(loop.time())
        return rigs.done()

    rig = rigs.rig(reconcile, clock=clocks.LoopClock())
    task = asyncio.create_task(rig.workers.run())
    rig.queue.add(rigs.key("a"))
    rig.queue.add(rigs.key("b"))
    await asyncio.sleep(1.0)
    rig.queue.shut_down()
    async with asyncio.timeout(5.0):
        await rig.queue.drain()
    assert loop.time() == 3.0
    await task
    assert finished == [3.0]
