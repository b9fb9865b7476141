"""Exactly one elector leads; leadership moves only after the safety margins, measured exactly
on the electors' fake clock (see ``conftest.SteppedClock``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from kubesim import KubeSim
from syncer.runtime import electing

from .conftest import LEASE, RENEW, RETRY, Candidate, SteppedClock


async def _leader(clock: SteppedClock, *electors: electing.LeaderElector) -> electing.LeaderElector:
    await clock.until(lambda: sum(e.may_write() for e in electors) == 1, within=LEASE * 3)
    return next(e for e in electors if e.may_write())


async def _crash(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_two_candidates_elect_exactly_one(
    candidates: Callable[[str], Awaitable[Candidate]],
    lease_holder: Callable[[], str],
    clock: SteppedClock,
) -> None:
    """Of two candidates one leads, the lease names it, and the other keeps standing by
    through many renewals."""
    a, _, _ = await candidates("a")
    b, _, _ = await candidates("b")
    leader = await _leader(clock, a, b)
    end = clock.now() + LEASE * 4
    while clock.now() < end:
        await clock.step(until=end)
        assert a.may_write() != b.may_write()
        assert leader.may_write()
    assert lease_holder() == leader.settings.identity


async def test_crashed_leader_is_replaced_within_lease_duration_plus_retry(
    candidates: Callable[[str], Awaitable[Candidate]],
    lease_holder: Callable[[], str],
    clock: SteppedClock,
) -> None:
    """A leader that dies without releasing is replaced at least a lease duration after its
    last renewal was seen, and at most lease duration + retry period after it."""
    a, _, task_a = await candidates("a")
    await clock.until(a.may_write, within=RETRY)
    b, _, _ = await candidates("b")
    await clock.pass_time(RETRY * 3)  # b has observed a's renewals
    await _crash(task_a)
    died = clock.now()
    took_over = await clock.until(b.may_write, within=LEASE + RETRY)
    assert took_over - died <= LEASE + RETRY
    assert took_over - died >= LEASE - RETRY  # a's last renewal was at most RETRY before
    assert lease_holder() == "b"


async def test_released_lease_is_taken_over_at_the_next_attempt(
    candidates: Callable[[str], Awaitable[Candidate]],
    lease_holder: Callable[[], str],
    clock: SteppedClock,
) -> None:
    """A leader that releases on shutdown hands over within one retry period, not a lease."""
    a, _, task_a = await candidates("a")
    await clock.until(a.may_write, within=RETRY)
    b, _, _ = await candidates("b")
    await clock.pass_time(RETRY * 3)
    await _crash(task_a)
    await a.release()
    assert not a.may_write()
    released = clock.now()
    took_over = await clock.until(b.may_write, within=RETRY)
    assert took_over - released <= RETRY
    assert lease_holder() == "b"


async def test_partitioned_leader_stops_writing_before_anyone_takes_over(
    candidates: Callable[[str], Awaitable[Candidate]],
    clock: SteppedClock,
) -> None:
    """A leader cut off from the API stops writing at its renew deadline, before the standby
    may take over, so the two never write at the same time; healed, it stays a standby."""
    a, partition_a, _ = await candidates("a")
    await clock.until(a.may_write, within=RETRY)
    b, _, _ = await candidates("b")
    await clock.pass_time(RETRY * 3)
    partition_a.cut()
    cut = clock.now()
    a_stopped: float | None = None
    end = cut + LEASE + RETRY
    while not b.may_write():
        assert clock.now() < end, "standby never took over"
        await clock.step(until=end)
        assert not (a.may_write() and b.may_write())
        if a_stopped is None and not a.may_write():
            a_stopped = clock.now()
    took_over = clock.now()
    assert a_stopped is not None
    assert a_stopped - cut <= RENEW
    assert took_over - a_stopped >= (LEASE - RENEW) - RETRY
    partition_a.heal()
    await clock.pass_time(RETRY * 4)
    assert b.may_write()
    assert not a.may_write(), "the healed replica must not grab the lease back"


async def test_a_lease_that_cannot_be_created_is_retried_at_the_retry_period(
    candidates: Callable[[str], Awaitable[Candidate]], host: KubeSim, clock: SteppedClock
) -> None:
    """When the lease cannot be created (e.g. RBAC), attempts come once per retry period
    (shortened by at most the jitter), not in a tight loop that would flood the API."""
    host.faults.fail(verb="create", resource="leases", status=403)
    a, _, _ = await candidates("a")
    await clock.pass_time(10 * RETRY)
    attempts = host.counters["create", "leases"]
    assert 10 <= attempts <= 10 / (1 - electing.JITTER) + 1
    assert not a.may_write()
