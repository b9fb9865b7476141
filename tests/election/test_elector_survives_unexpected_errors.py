"""An unexpected error in a lease attempt is a failed attempt, never the end of the elector
(issue 10, item 3): it stops leading at the renew deadline and keeps trying."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from kubernetes_asyncio.config import ConfigException

from kubesim.testing import wait_for

from .conftest import RENEW, RETRY, Candidate


async def test_a_leader_whose_attempts_crash_steps_down_and_comes_back(
    candidates: Callable[[str], Awaitable[Candidate]], lease_holder: Callable[[], str]
) -> None:
    """A ConfigException from every lease request makes the leader stop writing within the
    renew deadline and signal the loss; the elector keeps running and leads again once
    requests work."""
    elector, partition, task = await candidates("a")
    await wait_for(lambda: elector.leading, timeout=5)

    partition.break_with(ConfigException("token file is gone"))
    broken_at = asyncio.get_running_loop().time()
    await asyncio.wait_for(elector.wait_lost(), RENEW + 2 * RETRY + 2)
    assert not elector.may_write()
    assert asyncio.get_running_loop().time() - broken_at < RENEW + 2 * RETRY + 1
    await wait_for(lambda: partition.raised >= 3, timeout=5)
    assert not task.done(), "the elector task ended"

    partition.heal()
    await wait_for(lambda: elector.leading, timeout=5, message="never led again")
    assert lease_holder() == "a"
    assert not task.done()


async def test_a_standby_whose_attempts_crash_keeps_trying(
    candidates: Callable[[str], Awaitable[Candidate]], lease_holder: Callable[[], str]
) -> None:
    """A replica that cannot even read the lease (unexpected error) retries every retry
    period and takes the lease once its requests work."""
    elector, partition, task = await candidates("b")
    partition.break_with(ConfigException("token file is gone"))
    await wait_for(lambda: partition.raised >= 3, timeout=5)
    assert not task.done(), "the elector task ended"
    assert not elector.leading
    partition.heal()
    await wait_for(lambda: elector.leading, timeout=5)
    assert lease_holder() == "b"
