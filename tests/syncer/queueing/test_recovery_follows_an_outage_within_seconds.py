"""After an API outage of any length the syncer tries again within 5 s of the API's return
(issue 10, item 7: converge within 10 s after a fault ends), without hammering the API while it
is down: the informers' reconnect backoff and the work queue's per-key backoff are capped at 5 s,
and reconnects are fully jittered."""

from __future__ import annotations

import itertools
import random

import pytest

from syncer.pipeline import controller, queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting

RECOVERY = 5.0
"""Longest wait between the API's return and the next attempt: half the 10 s budget."""


class FixedRandom:
    """A random source that always returns the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def _reconnects(
    backoff: ratelimiting.ReconnectBackoff, clock: clocks.FakeClock, until: float
) -> list[float]:
    """Attempt times of a reconnect loop against an API that is down until ``until``."""
    attempts = [clock.now()]
    while attempts[-1] < until:
        clock.advance(backoff.next_delay())
        attempts.append(clock.now())
    return attempts


@pytest.mark.parametrize("outage", [pytest.param(s, id=f"{s:g}s") for s in (3, 12.5, 20, 61, 600)])
def test_the_first_reconnect_after_an_outage_comes_within_5s(
    clock: clocks.FakeClock, outage: float
) -> None:
    """With no jitter drawn (the longest delays) the first attempt after an outage of any
    length comes at most 5 s after the API is back."""
    backoff = ratelimiting.ReconnectBackoff(clock=clock, rng=FixedRandom(0.0))
    attempts = _reconnects(backoff, clock, outage)
    assert attempts[-1] - outage <= RECOVERY, attempts


def test_reconnect_delays_grow_to_a_5s_cap(clock: clocks.FakeClock) -> None:
    """The default delays double from 0.8 s to the 5 s cap (before jitter)."""
    backoff = ratelimiting.ReconnectBackoff(clock=clock, rng=FixedRandom(0.0))
    assert [backoff.next_delay() for _ in range(6)] == pytest.approx([0.8, 1.6, 3.2, 5, 5, 5])


@pytest.mark.parametrize("seed", range(10))
def test_a_down_api_sees_about_one_attempt_per_2_5s(clock: clocks.FakeClock, seed: int) -> None:
    """Full jitter spreads replicas over the whole delay, yet a ten-minute outage costs each
    informer fewer than 300 attempts (one per 2.5 s on average at the cap), and every attempt
    after the API returns comes within 5 s."""
    backoff = ratelimiting.ReconnectBackoff(clock=clock, rng=random.Random(seed))
    attempts = _reconnects(backoff, clock, 600.0)
    assert len(attempts) < 300
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert max(gaps) <= RECOVERY
    assert min(gaps) < 1.0, "full jitter draws short delays too"


async def test_a_key_failing_through_an_outage_is_retried_within_5s_of_its_end(
    clock: clocks.FakeClock,
) -> None:
    """With the controller's default limiter, a key whose writes fail for a 20 s outage is
    handed out again at most 5 s after the outage ends."""
    limiter = ratelimiting.controller_limiter(clock=clock)
    queue: queueing.WorkQueue[str] = queueing.WorkQueue(limiter=limiter, clock=clock)
    outage = 20.0
    queue.add("a")
    while True:
        async with queue.get() as key:
            if clock.now() >= outage:
                break
            queue.add_rate_limited(key)
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.advance(deadline - clock.now())
    assert clock.now() - outage <= RECOVERY


def test_a_key_is_not_given_up_during_a_five_minute_outage() -> None:
    """The controller retries a failing key for longer than a 5-minute outage before it gives
    up (then only a change or a resync would retry it): the capped backoff is not a shorter
    horizon."""
    limiter = ratelimiting.ItemExponentialLimiter()
    retries = controller.ControllerSettings().max_retries
    assert sum(limiter.when("k") for _ in range(retries)) >= 300.0
