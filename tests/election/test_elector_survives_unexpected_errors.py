"""An unexpected error in a lease attempt is a failed attempt, never the end of the elector
(issue 10, item 3): it stops leading at the renew deadline and keeps trying."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from kubernetes_asyncio.config import ConfigException

from .conftest import RENEW, RETRY, Candidate, SteppedClock


async def test_a_leader_whose_attempts_crash_steps_down_and_comes_back(
    candidates: Callable[[str], Awaitable[Candidate]],
    lease_holder: Callable[[], str],
    clock: SteppedClock,
) -> None:
    """A ConfigException from every lease request makes the leader stop writing at the renew
    deadline and signal the loss then; the elector keeps running and leads again once
    requests work."""
    elector, partition, task = await candidates("a")
    await clock.until(lambda: elector.leading, within=RETRY)
    lost = asyncio.create_task(elector.wait_lost())

    partition.break_with(ConfigException("token file is gone"))
    broken_at = clock.now()
    signalled = await clock.until(lost.done, within=RENEW + RETRY)
    assert not elector.may_write()
    assert signalled - broken_at <= RENEW
    await clock.until(lambda: partition.raised >= 3, within=3 * RETRY)
    assert not task.done(), "the elector task ended"

    partition.heal()
    await clock.until(lambda: elector.leading, within=RETRY)
    assert lease_holder() == "a"
    assert not task.done()


async def test_a_standby_whose_attempts_crash_keeps_trying(
    candidates: Callable[[str], Awaitable[Candidate]],
    lease_holder: Callable[[], str],
    clock: SteppedClock,
) -> None:
    """A replica that cannot even read the lease (unexpected error) retries every retry
    period and takes the lease once its requests work."""
    elector, partition, task = await candidates("b")
    partition.break_with(ConfigException("token file is gone"))
    await clock.until(lambda: partition.raised >= 3, within=3 * RETRY)
    assert not task.done(), "the elector task ended"
    assert not elector.leading
    partition.heal()
    await clock.until(lambda: elector.leading, within=RETRY)
    assert lease_holder() == "b"
