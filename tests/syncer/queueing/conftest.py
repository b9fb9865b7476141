"""Fixtures for the queue, rate limiter and clock tests: fake time, a queue on it, a guard
proving that no test in this folder really slept, and a watchdog failing a deadlocked test."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting

# Every test here runs on fake time and needs milliseconds of real time, while the loop-time tests
# advance minutes: a test over this budget really slept. The budget grows with how overcommitted
# the machine is (1-minute load per core), since a test waiting for a core is not sleeping.
WALL_BUDGET_SECONDS = 1.5


def wall_budget() -> float:
    """:data:`WALL_BUDGET_SECONDS`, scaled by the load per core when the machine is busy."""
    per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return WALL_BUDGET_SECONDS * max(1.0, per_core)


# A coroutine test still running after this much real time is deadlocked (a lost wake-up in the
# queue would otherwise hang CI); it is cancelled and failed.
HANG_SECONDS = 5.0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Run each coroutine test in this folder under a real-time watchdog."""
    test = getattr(item, "obj", None)
    if not inspect.iscoroutinefunction(test):
        return (yield)

    @functools.wraps(test)
    async def watched(*args: Any, **kwargs: Any) -> object:
        task = asyncio.current_task()
        assert task is not None
        fired = threading.Event()

        def cancel() -> None:
            fired.set()
            task.cancel()

        loop = asyncio.get_running_loop()
        watchdog = threading.Timer(HANG_SECONDS, loop.call_soon_threadsafe, (cancel,))
        watchdog.daemon = True
        watchdog.start()
        try:
            return await test(*args, **kwargs)
        except asyncio.CancelledError:
            if fired.is_set():
                pytest.fail(f"deadlocked: still running after {HANG_SECONDS}s of real time")
            raise
        finally:
            watchdog.cancel()

    item.obj = watched  # type: ignore[attr-defined]  # pytest-asyncio runs item.obj at runtest
    try:
        return (yield)
    finally:
        item.obj = test  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that calls time.sleep or spends more than the wall-clock budget."""

    def forbidden(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called in a fake-time test")

    monkeypatch.setattr(time, "sleep", forbidden)
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    budget = wall_budget()
    assert elapsed < budget, f"test took {elapsed:.2f}s of real time (budget {budget:.1f}s)"


@pytest.fixture
def clock() -> clocks.FakeClock:
    """A fake clock starting at 0."""
    return clocks.FakeClock()


@pytest.fixture
def queue(clock: clocks.FakeClock) -> queueing.WorkQueue[str]:
    """A queue on the fake clock with a 1 s, 2 s, 4 s, 8 s (cap) per-key backoff."""
    limiter = ratelimiting.ItemExponentialLimiter(
        settings=ratelimiting.ItemBackoffSettings(base=1.0, cap=8.0)
    )
    return queueing.WorkQueue(limiter=limiter, clock=clock)
