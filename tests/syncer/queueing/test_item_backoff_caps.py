"""Per-key exponential backoff doubles from base to cap, per key, and the max-of combinator
takes the longest delay of its limiters."""

from __future__ import annotations

import pytest

from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting


def _limiter(*, base: float, cap: float) -> ratelimiting.ItemExponentialLimiter:
    settings = ratelimiting.ItemBackoffSettings(base=base, cap=cap)
    return ratelimiting.ItemExponentialLimiter(settings=settings)


@pytest.mark.parametrize(
    ("base", "cap", "delays"),
    [
        pytest.param(1.0, 8.0, [1.0, 2.0, 4.0, 8.0, 8.0], id="reaches-cap-exactly"),
        pytest.param(1.0, 5.0, [1.0, 2.0, 4.0, 5.0, 5.0], id="cap-between-steps"),
        pytest.param(3.0, 3.0, [3.0, 3.0, 3.0], id="base-equals-cap"),
        pytest.param(0.05, 60.0, [0.05, 0.1, 0.2, 0.4, 0.8, 1.6], id="controller-defaults"),
    ],
)
def test_delays_double_until_the_cap(base: float, cap: float, delays: list[float]) -> None:
    """The n-th failure of a key waits min(cap, base * 2**n)."""
    limiter = _limiter(base=base, cap=cap)
    assert [limiter.when("k") for _ in delays] == pytest.approx(delays)


def test_many_failures_stay_at_the_cap_without_overflow() -> None:
    """Ten thousand failures of one key still yield the cap, not an overflow."""
    limiter = _limiter(base=1e-9, cap=1000.0)
    for _ in range(10_000):
        delay = limiter.when("k")
    assert delay == 1000.0
    assert limiter.num_requeues("k") == 10_000


def test_keys_back_off_independently() -> None:
    """Failures of one key do not lengthen another key's delay."""
    limiter = _limiter(base=1.0, cap=100.0)
    for _ in range(5):
        limiter.when("a")
    assert limiter.when("b") == 1.0
    assert limiter.when("a") == 32.0


def test_forget_starts_the_key_from_base() -> None:
    """forget drops the key's count, so its next delay is base again."""
    limiter = _limiter(base=1.0, cap=100.0)
    for _ in range(3):
        limiter.when("a")
    limiter.forget("a")
    limiter.forget("never-seen")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1.0


def test_max_of_takes_the_longest_delay_and_forgets_in_all(clock: clocks.FakeClock) -> None:
    """MaxOfLimiter returns the largest delay, counts in every limiter and forgets in all."""
    item = _limiter(base=0.25, cap=10.0)
    bucket = ratelimiting.TokenBucketLimiter(
        settings=ratelimiting.TokenBucketSettings(qps=1.0, burst=1), clock=clock
    )
    limiter = ratelimiting.MaxOfLimiter(item, bucket)
    assert [limiter.when("k") for _ in range(4)] == [0.25, 1.0, 2.0, 3.0]
    assert limiter.num_requeues("k") == 4
    limiter.forget("k")
    assert item.num_requeues("k") == 0


def test_default_controller_limiter_values() -> None:
    """The controller default waits 50 ms for a new key until 500 retries at once use up the
    burst; after that, retries are spaced 20 ms apart (50 qps)."""
    limiter = ratelimiting.controller_limiter(clock=clocks.FakeClock())
    assert {limiter.when(f"burst{i}") for i in range(500)} == {0.05}
    after_burst = [limiter.when(f"more{i}") for i in range(4)]
    assert after_burst == pytest.approx([0.05, 0.05, 0.06, 0.08])


@pytest.mark.parametrize(
    ("base", "cap"),
    [pytest.param(0.0, 1.0, id="zero-base"), pytest.param(2.0, 1.0, id="cap-below-base")],
)
def test_settings_reject_inconsistent_bounds(base: float, cap: float) -> None:
    """Backoff settings need 0 < base <= cap."""
    with pytest.raises(ValueError, match="base"):
        ratelimiting.ItemBackoffSettings(base=base, cap=cap)
