"""The token bucket allows a burst, then one retry per 1/qps seconds, and refills up to burst."""

from __future__ import annotations

import pytest

from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting


def _bucket(clock: clocks.FakeClock, *, qps: float, burst: int) -> ratelimiting.TokenBucketLimiter:
    settings = ratelimiting.TokenBucketSettings(qps=qps, burst=burst)
    return ratelimiting.TokenBucketLimiter(settings=settings, clock=clock)


@pytest.mark.parametrize(
    ("qps", "burst", "delays"),
    [
        pytest.param(4.0, 1, [0.0, 0.25, 0.5, 0.75], id="burst-1"),
        pytest.param(4.0, 3, [0.0, 0.0, 0.0, 0.25, 0.5], id="burst-3"),
        pytest.param(0.5, 2, [0.0, 0.0, 2.0, 4.0], id="slower-than-1qps"),
    ],
)
def test_back_to_back_calls_reserve_future_tokens(
    clock: clocks.FakeClock, qps: float, burst: int, delays: list[float]
) -> None:
    """At one instant, calls beyond the burst wait n/qps seconds for the n-th missing token."""
    bucket = _bucket(clock, qps=qps, burst=burst)
    assert [bucket.when(f"k{i}") for i in range(len(delays))] == delays


def test_tokens_refill_at_qps(clock: clocks.FakeClock) -> None:
    """An empty bucket regains qps tokens per second."""
    bucket = _bucket(clock, qps=4.0, burst=4)
    for _ in range(4):
        bucket.when("k")
    assert bucket.when("probe") == 0.25  # empty: the next token is a quarter second away
    clock.advance(0.75)  # pays the probe back, then two tokens
    assert [bucket.when("k") for _ in range(3)] == [0.0, 0.0, 0.25]


def test_refill_stops_at_burst(clock: clocks.FakeClock) -> None:
    """Idle time beyond burst/qps adds no tokens past the burst."""
    bucket = _bucket(clock, qps=4.0, burst=2)
    bucket.when("k")
    clock.advance(3600.0)
    assert [bucket.when("k") for _ in range(3)] == [0.0, 0.0, 0.25]


def test_reserved_tokens_are_paid_back_before_refilling(clock: clocks.FakeClock) -> None:
    """Tokens reserved ahead (negative balance) are repaid by elapsed time first."""
    bucket = _bucket(clock, qps=2.0, burst=1)
    assert [bucket.when("k") for _ in range(3)] == [0.0, 0.5, 1.0]
    clock.advance(1.0)  # repays the two reserved tokens: the bucket is just empty
    assert bucket.when("k") == 0.5


def test_bucket_keeps_no_per_key_state(clock: clocks.FakeClock) -> None:
    """forget does not refund tokens and num_requeues is always zero."""
    bucket = _bucket(clock, qps=1.0, burst=1)
    bucket.when("a")
    bucket.forget("a")
    assert bucket.num_requeues("a") == 0
    assert bucket.when("a") == 1.0


@pytest.mark.parametrize(
    ("qps", "burst"),
    [pytest.param(0.0, 1, id="zero-qps"), pytest.param(1.0, 0, id="zero-burst")],
)
def test_settings_reject_a_bucket_that_never_fills(qps: float, burst: int) -> None:
    """A bucket without rate or capacity is refused at construction."""
    with pytest.raises(ValueError, match="qps"):
        ratelimiting.TokenBucketSettings(qps=qps, burst=burst)
