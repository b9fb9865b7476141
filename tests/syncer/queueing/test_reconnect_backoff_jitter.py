"""The reconnect backoff grows exponentially to its cap, jitter only shortens it, and it resets
explicitly or after a quiet period."""

from __future__ import annotations

import asyncio
import random

import pytest

from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting


class FixedRandom:
    """A random source that always returns the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def _backoff(
    clock: clocks.FakeClock, *, rng: ratelimiting.Random, jitter: float = 0.5
) -> ratelimiting.ReconnectBackoff:
    settings = ratelimiting.ReconnectSettings(
        initial=1.0, factor=2.0, cap=30.0, jitter=jitter, reset_after=120.0
    )
    return ratelimiting.ReconnectBackoff(settings=settings, clock=clock, rng=rng)


@pytest.mark.parametrize(
    ("draw", "delays"),
    [
        pytest.param(0.0, [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0], id="no-jitter-drawn"),
        pytest.param(0.5, [0.75, 1.5, 3.0, 6.0, 12.0, 22.5, 22.5], id="half-jitter-drawn"),
    ],
)
def test_delays_grow_to_the_cap(clock: clocks.FakeClock, draw: float, delays: list[float]) -> None:
    """The n-th delay is min(cap, initial * factor**n) * (1 - jitter * draw)."""
    backoff = _backoff(clock, rng=FixedRandom(draw))
    assert [backoff.next_delay() for _ in delays] == delays
    assert backoff.failures == len(delays)


def test_jitter_stays_within_bounds(clock: clocks.FakeClock) -> None:
    """With a real random source every delay lies in [(1 - jitter) * d, d] for its step d."""
    backoff = _backoff(clock, rng=random.Random(4), jitter=0.5)
    steps = [1.0, 2.0, 4.0, 8.0, 16.0] + [30.0] * 195
    delays = [backoff.next_delay() for _ in steps]
    assert all(step / 2 <= delay <= step for step, delay in zip(steps, delays, strict=True))
    assert len(set(delays)) == len(delays), "jitter should make delays differ"


def test_reset_starts_from_initial(clock: clocks.FakeClock) -> None:
    """After reset() the next delay is the initial one again."""
    backoff = _backoff(clock, rng=FixedRandom(0.0))
    for _ in range(4):
        backoff.next_delay()
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() == 1.0


@pytest.mark.parametrize(
    ("quiet", "expected"),
    [
        pytest.param(119.0, 8.0, id="just-before-reset-after"),
        pytest.param(120.0, 1.0, id="at-reset-after"),
    ],
)
def test_quiet_period_resets_the_backoff(
    clock: clocks.FakeClock, quiet: float, expected: float
) -> None:
    """A failure reset_after seconds after the previous one starts from initial again."""
    backoff = _backoff(clock, rng=FixedRandom(0.0))
    for _ in range(3):
        backoff.next_delay()
    clock.advance(quiet)
    assert backoff.next_delay() == expected


async def test_sleep_waits_the_delay_on_the_clock(clock: clocks.FakeClock) -> None:
    """sleep() waits on the injected clock for exactly the next delay."""
    backoff = _backoff(clock, rng=FixedRandom(0.0))
    woke: list[float] = []

    async def reconnect_loop() -> None:
        for _ in range(3):
            await backoff.sleep()
            woke.append(clock.now())

    task = asyncio.create_task(reconnect_loop())
    await clock.run_for(10.0)
    await task
    assert woke == [1.0, 3.0, 7.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"initial": 0.0}, id="zero-initial"),
        pytest.param({"cap": 200.0}, id="cap-beyond-reset-after"),
        pytest.param({"jitter": 1.5}, id="jitter-above-one"),
        pytest.param({"factor": 0.5}, id="shrinking-factor"),
    ],
)
def test_settings_reject_nonsense(kwargs: dict[str, float]) -> None:
    """Settings that would not back off, or would reset while backing off, are refused."""
    with pytest.raises(ValueError, match="need"):
        ratelimiting.ReconnectSettings(**kwargs)
