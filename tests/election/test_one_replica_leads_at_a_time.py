"""Exactly one elector leads; leadership moves only after the safety margins."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from kubesim import KubeSim
from kubesim.testing import wait_for
from syncer.runtime import electing

from .conftest import LEASE, RENEW, RETRY, Candidate


async def _leader(*electors: electing.LeaderElector) -> electing.LeaderElector:
    async def one() -> electing.LeaderElector | None:
        leading = [e for e in electors if e.may_write()]
        return leading[0] if len(leading) == 1 else None

    return await wait_for(one, timeout=LEASE * 3)


async def test_two_candidates_elect_exactly_one(
    candidates: Callable[[str], Awaitable[Candidate]], lease_holder: Callable[[], str]
) -> None:
    """Of two candidates one leads, the lease names it, and the other keeps standing by."""
    a, _, _ = await candidates("a")
    b, _, _ = await candidates("b")
    leader = await _leader(a, b)
    for _ in range(int(LEASE * 2 / 0.05)):
        assert a.may_write() != b.may_write()
        await asyncio.sleep(0.05)
    assert lease_holder() == leader.settings.identity


async def test_crashed_leader_is_replaced_within_lease_duration_plus_retry(
    candidates: Callable[[str], Awaitable[Candidate]], lease_holder: Callable[[], str]
) -> None:
    """A leader that dies without releasing is replaced within lease duration + retry period."""
    a, _, task_a = await candidates("a")
    await wait_for(a.may_write, timeout=2)
    b, _, _ = await candidates("b")
    await asyncio.sleep(RETRY * 3)  # b has observed a's renewals
    task_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task_a
    died = time.monotonic()
    await wait_for(b.may_write, timeout=LEASE + RETRY + 2)
    assert time.monotonic() - died <= LEASE + RETRY + 0.3
    assert lease_holder() == "b"


async def test_released_lease_is_taken_over_at_the_next_attempt(
    candidates: Callable[[str], Awaitable[Candidate]], lease_holder: Callable[[], str]
) -> None:
    """A leader that releases on shutdown hands over within one retry period, not a lease."""
    a, _, task_a = await candidates("a")
    await wait_for(a.may_write, timeout=2)
    b, _, _ = await candidates("b")
    await asyncio.sleep(RETRY * 3)
    task_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task_a
    await a.release()
    assert not a.may_write()
    released = time.monotonic()
    await wait_for(b.may_write, timeout=LEASE)
    assert time.monotonic() - released <= RETRY + 0.3
    assert lease_holder() == "b"


async def test_partitioned_leader_stops_writing_before_anyone_takes_over(
    candidates: Callable[[str], Awaitable[Candidate]],
) -> None:
    """A leader cut off from the API stops writing at its renew deadline, before the standby
    may take over, so the two never write at the same time."""
    a, partition_a, _ = await candidates("a")
    await wait_for(a.may_write, timeout=2)
    b, _, _ = await candidates("b")
    await asyncio.sleep(RETRY * 3)
    partition_a.cut()
    cut = time.monotonic()
    a_stopped: float | None = None
    while not b.may_write():
        assert not (a.may_write() and b.may_write())
        if a_stopped is None and not a.may_write():
            a_stopped = time.monotonic()
        assert time.monotonic() - cut < LEASE + RETRY + 2, "standby never took over"
        await asyncio.sleep(0.01)
    took_over = time.monotonic()
    assert a_stopped is not None
    assert a_stopped - cut <= RENEW + 0.1
    assert took_over - a_stopped >= (LEASE - RENEW) - RETRY
    assert not a.may_write()
    partition_a.heal()
    await asyncio.sleep(RETRY * 4)
    assert b.may_write()
    assert not a.may_write(), "the healed replica must not grab the lease back"


async def test_a_lease_that_cannot_be_created_is_retried_at_the_retry_period(
    candidates: Callable[[str], Awaitable[Candidate]], host: KubeSim
) -> None:
    """When the lease cannot be created (e.g. RBAC), attempts come once per retry period,
    not in a tight loop that would flood the host API server."""
    host.faults.fail(verb="create", resource="leases", status=403)
    a, _, _ = await candidates("a")
    await asyncio.sleep(1.0)
    attempts = host.counters["create", "leases"]
    assert 1 <= attempts <= 1.0 / (RETRY * 0.8) + 2
    assert not a.may_write()
