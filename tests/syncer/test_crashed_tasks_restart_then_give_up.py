"""Supervised tasks (issue 10, item 3): a crash is counted and restarted with capped backoff;
a task that keeps crashing is given up, fails the health check and ends with ``TaskFailed``.
Runs on loop time (``looptime``): minutes of backoff take no real time."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from syncer.runtime import metrics, supervising

pytestmark = pytest.mark.looptime


def _failures(m: metrics.Metrics, task: str) -> float:
    value = m.registry.get_sample_value("netpol_syncer_task_failures_total", {"task": task})
    return value or 0.0


async def test_a_crashing_task_is_restarted_with_backoff_then_given_up() -> None:
    """Each crash is counted; restarts come after 1, 2, 4, 8, 16 s; the sixth crash in a row
    ends the task with TaskFailed and fails the health check."""
    m = metrics.Metrics(strict=True)
    supervisor = supervising.Supervisor(metrics=m)
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def crash() -> None:
        starts.append(loop.time())
        raise RuntimeError("boom")

    task = supervisor.spawn("resync", crash)
    with pytest.raises(supervising.TaskFailed) as failed:
        await task
    assert isinstance(failed.value.__cause__, RuntimeError)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(starts)]
    assert gaps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert _failures(m, "resync") == 6
    health = supervisor.health()
    assert health["ok"] is False
    assert health["failed"] == {"resync": "RuntimeError: boom"}


async def test_a_task_that_ran_long_enough_starts_its_count_again() -> None:
    """Crashes more than ``healthy_after`` apart never add up to giving up."""
    supervisor = supervising.Supervisor()
    runs = 0
    calm = asyncio.Event()

    async def crash_now_and_then() -> None:
        nonlocal runs
        runs += 1
        if runs > 10:
            calm.set()
            await asyncio.Event().wait()
        await asyncio.sleep(supervisor.policy.healthy_after)
        raise RuntimeError("now and then")

    task = supervisor.spawn("resync", crash_now_and_then)
    await calm.wait()
    assert not task.done()
    assert supervisor.health()["ok"] is True
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_task_that_returns_is_not_restarted_and_restart_starts_over() -> None:
    """A returning task has finished; ``restart`` starts a running one over at once."""
    supervisor = supervising.Supervisor()
    runs = 0

    async def forever() -> None:
        nonlocal runs
        runs += 1
        await asyncio.Event().wait()

    async def once() -> None:
        return None

    assert await supervisor.spawn("worker-0", once, label="worker") is None
    task = supervisor.spawn("informer-virtual", forever)
    await asyncio.sleep(0.01)
    assert runs == 1
    supervisor.restart("informer-virtual")
    await asyncio.sleep(0.01)
    assert runs == 2
    assert supervisor.health() == {"ok": True}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
