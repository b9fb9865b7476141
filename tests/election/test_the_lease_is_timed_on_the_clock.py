"""The elector's safety margins on a fake clock, exactly (SPEC §6, client-go's leaderelection):
the lease counts from before each renew request, a renewal never runs past the renew deadline,
and a standby takes over exactly when the record it saw has been unchanged for a whole lease."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from syncer.runtime import clock as clocks
from syncer.runtime import electing
from tests.support.lease_api import LeaseApi

LEASE, RENEW, RETRY = 15.0, 10.0, 2.0
"""client-go's defaults."""


@pytest.fixture
def clock() -> clocks.FakeClock:
    return clocks.FakeClock()


@pytest.fixture
def api(clock: clocks.FakeClock) -> LeaseApi:
    return LeaseApi(clock)


@pytest_asyncio.fixture
async def start(
    clock: clocks.FakeClock, api: LeaseApi
) -> AsyncIterator[Callable[[str], electing.LeaderElector]]:
    """Factory: run an elector named ``identity`` on ``api``; stopped afterwards."""
    tasks: list[asyncio.Task[None]] = []

    def elector(identity: str) -> electing.LeaderElector:
        one = electing.LeaderElector(
            api=api,  # type: ignore[arg-type]  # the Lease calls of KubeApi, in memory
            settings=electing.LeaseSettings(
                name="lease",
                namespace="vc-ns",
                identity=identity,
                lease_duration=LEASE,
                renew_deadline=RENEW,
                retry_period=RETRY,
            ),
            clock=clock,
            rng=random.Random(7),
        )
        tasks.append(asyncio.create_task(one.run()))
        return one

    yield elector
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _run_until(clock: clocks.FakeClock, when: float) -> None:
    await clock.run_for(when - clock.now())


async def test_a_slow_renewal_counts_from_before_its_request(
    clock: clocks.FakeClock, api: LeaseApi, start: Callable[[str], electing.LeaderElector]
) -> None:
    """A renewal sent at 2 s whose answer takes 3 s keeps the right to write until 2 + RENEW,
    not until the answer's arrival + RENEW: the server may have stored it at 2 s."""
    leader = start("a")
    await clock.run_for(0.0)
    assert leader.may_write()
    api.latency = 1.5  # GET then PUT: the renewal sent at 2 s is answered at 5 s
    await _run_until(clock, 5.0)
    assert api.requests[-2:] == [(2.0, "get"), (3.5, "update")]
    api.hanging = True  # no renewal gets through any more
    await _run_until(clock, 2.0 + RENEW - 0.01)
    assert leader.may_write()
    await _run_until(clock, 2.0 + RENEW)
    assert not leader.may_write()


async def test_a_hanging_renewal_is_abandoned_at_the_renew_deadline(
    clock: clocks.FakeClock, api: LeaseApi, start: Callable[[str], electing.LeaderElector]
) -> None:
    """A renewal that never gets an answer is abandoned at the renew deadline, and the loss
    is signalled then, not when some longer timeout ends."""
    leader = start("a")
    await clock.run_for(0.0)
    assert leader.may_write()
    lost = asyncio.create_task(leader.wait_lost())
    api.hanging = True
    await _run_until(clock, RENEW - 0.01)
    assert leader.may_write()
    assert not lost.done()
    assert api.cancelled == 0
    await _run_until(clock, RENEW)
    assert not leader.may_write()
    await clock.settle()
    assert lost.done(), "the loss was not signalled at the renew deadline"
    assert api.cancelled == 1, "the hanging renewal was not abandoned"


async def test_a_standby_takes_over_exactly_a_lease_after_the_last_change(
    clock: clocks.FakeClock, api: LeaseApi, start: Callable[[str], electing.LeaderElector]
) -> None:
    """A holder that renews keeps the lease; once it stops, the standby takes over exactly
    LEASE seconds after it first saw the last renewal, with one request at that instant (no
    burst of reads around the expiry), and never before."""
    api.put({"holderIdentity": "other", "renewTime": "t0"})
    standby = start("b")
    for second in range(1, 21):  # the holder renews every second for 20 s, then dies
        await _run_until(clock, float(second))
        api.put({"holderIdentity": "other", "renewTime": f"t{second}"})
        assert not standby.may_write()
    await _run_until(clock, 20.0 + RETRY)
    seen = next(t for t, _ in api.requests if t > 20.0)
    await _run_until(clock, seen + LEASE - 0.01)
    assert not standby.may_write()
    assert api.holder() == "other"
    await _run_until(clock, seen + LEASE + 0.01)
    assert standby.may_write()
    takeover = [(t, verb) for t, verb in api.requests if t >= seen + LEASE - 0.001]
    assert [verb for _, verb in takeover] == ["get", "update"], takeover
    assert takeover[0][0] == pytest.approx(seen + LEASE)
