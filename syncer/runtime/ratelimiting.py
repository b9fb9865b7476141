"""Retry policies: how long to wait before trying a key (or a connection) again.

Neighbours: ``queueing`` asks a ``RateLimiter`` for a delay on every rate-limited add; the
informers' reconnect loops use ``ReconnectBackoff``. Both read time from ``clock``. Each policy
is a small object with its own settings so that the worker loop, not the business logic, decides
when to retry, and tests can assert exact delay sequences on a ``clock.FakeClock``.

Server-side pushback: a 429 or 503 with ``Retry-After: N`` must not be retried sooner than N
seconds, but must still count as a failure for the key's backoff. Do both with one call:
``queue.add_rate_limited(key, at_least=N)``, i.e. ``max(N, limiter.when(key))``.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Hashable
from typing import Protocol

from syncer.runtime import clock as clocks


class RateLimiter(Protocol):
    """A retry policy: client-go's ``When / Forget / NumRequeues``."""

    def when(self, key: Hashable) -> float:
        """Record one more failure of ``key`` and return how many seconds to wait before retry."""

    def forget(self, key: Hashable) -> None:
        """Clear ``key``'s failure history (call on success or when giving up on the key)."""

    def num_requeues(self, key: Hashable) -> int:
        """How many failures of ``key`` were recorded since it was last forgotten."""

    @property
    def tracked(self) -> int:
        """Keys with a failure history kept (memory that ``forget`` releases)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ItemBackoffSettings:
    """Per-key exponential backoff: ``base * 2**failures``, at most ``cap``."""

    base: float = 0.05
    """First retry delay. client-go uses 5 ms; 50 ms gives the informer time to deliver the newer
    object after a 409 Conflict, so the retry does not hit the same stale cache again."""

    cap: float = 5.0
    """Longest delay. client-go uses 1000 s; an unsynced policy is a security gap (traffic stays
    open or closed against the tenant's intent), so a key that failed all through an outage is
    retried within 5 s of its end (the goal: converged within 10 s after any fault). The API is
    still spared: the token bucket bounds the retries of all keys together."""

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError(f"need 0 < base <= cap, got base={self.base} cap={self.cap}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TokenBucketSettings:
    """An overall limit on retries of all keys together."""

    qps: float = 50.0
    """Sustained retries per second. client-go uses 10; 10,000 keys failing together (a host API
    outage) are then all retried within ~200 s instead of ~17 minutes, while the per-item backoff
    and the API client's own QPS limit still keep the retry storm far below what an API serves."""

    burst: int = 500
    """Retries allowed at once before the rate applies: a restart or a batch of conflicts retries
    immediately, a mass failure is spread out."""

    def __post_init__(self) -> None:
        if self.qps <= 0 or self.burst < 1:
            raise ValueError(f"need qps > 0 and burst >= 1, got {self.qps=} {self.burst=}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReconnectSettings:
    """Backoff between reconnect attempts (e.g. informer watch errors), with jitter.

    The ``n``-th delay is ``min(cap, initial * factor**n) * (1 - jitter * U)``, ``U`` uniform in
    ``[0, 1)``: jitter only shortens, so ``cap`` is a true upper bound.
    """

    initial: float = 0.8
    """First delay; client-go's reflector uses 800 ms too."""

    factor: float = 2.0
    """Growth per consecutive failure; doubling reaches ``cap`` in six steps."""

    cap: float = 5.0
    """Longest delay, so a watch is back within 5 s of the API (the goal: converged within 10 s
    after any fault). client-go's reflector waits up to 30 s, which after a 20 s outage meant up
    to 25 s of staleness. A down server sees one attempt per 2.5 s per informer on average."""

    jitter: float = 1.0
    """Fraction of the delay removed at random. Full jitter (a delay uniform in ``(0, d]``)
    spreads the syncers of many virtual clusters on one host API over the whole interval, so
    they do not reconnect in lockstep after it restarts."""

    reset_after: float = 120.0
    """A failure this long after the previous one starts again from ``initial`` (client-go: 2 min).
    Must exceed ``cap``, or a connection that keeps failing would reset its own backoff."""

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.cap < self.reset_after:
            raise ValueError("need 0 < initial <= cap < reset_after")
        if self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("need factor >= 1 and 0 <= jitter <= 1")


DEFAULT_ITEM_BACKOFF = ItemBackoffSettings()
DEFAULT_TOKEN_BUCKET = TokenBucketSettings()
DEFAULT_RECONNECT = ReconnectSettings()


def _exponent_cap(base: float, cap: float, factor: float) -> int:
    """An exponent whose delay is past ``cap`` (one extra for rounding); higher ones could overflow
    a float, so exponents are clamped to it."""
    return 0 if factor <= 1 or base >= cap else math.ceil(math.log(cap / base, factor)) + 1


class ItemExponentialLimiter:
    """Per-key exponential backoff: ``base``, ``2*base``, ``4*base``, ... up to ``cap``.

    Keeps one counter per failing key only; ``forget`` drops it.
    """

    def __init__(self, *, settings: ItemBackoffSettings = DEFAULT_ITEM_BACKOFF) -> None:
        self.settings = settings
        self._failures: dict[Hashable, int] = {}
        self._max_exp = _exponent_cap(settings.base, settings.cap, 2.0)

    def when(self, key: Hashable) -> float:
        """``min(cap, base * 2**n)`` where ``n`` counts earlier failures of ``key``."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        exponent = min(failures, self._max_exp)
        return min(self.settings.cap, self.settings.base * 2.0**exponent)

    def forget(self, key: Hashable) -> None:
        """Start ``key`` from ``base`` again."""
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        """Failures of ``key`` since it was last forgotten."""
        return self._failures.get(key, 0)

    @property
    def tracked(self) -> int:
        """Keys with a failure count."""
        return len(self._failures)


class TokenBucketLimiter:
    """An overall token bucket shared by all keys: ``burst`` tokens, refilled at ``qps``.

    Every ``when`` takes a token, reserving one in the future when the bucket is empty, so
    retries of all keys together never exceed ``burst + qps * t`` in any ``t`` seconds.
    Keys are not tracked: ``forget`` is a no-op and ``num_requeues`` is always 0.
    """

    def __init__(
        self,
        *,
        settings: TokenBucketSettings = DEFAULT_TOKEN_BUCKET,
        clock: clocks.Clock | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock or clocks.LoopClock()
        self._tokens = float(settings.burst)  # negative when tokens are reserved in the future
        self._updated: float | None = None  # when _tokens was last refilled

    def when(self, key: Hashable) -> float:
        """Seconds until the token taken now becomes available: 0 while the bucket has tokens."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.settings.qps

    def forget(self, key: Hashable) -> None:
        """No-op: the bucket has no per-key state."""

    def num_requeues(self, key: Hashable) -> int:
        """Always 0: the bucket has no per-key state."""
        return 0

    @property
    def tracked(self) -> int:
        """Always 0: the bucket has no per-key state."""
        return 0

    def _refill(self) -> None:
        now = self._clock.now()
        if self._updated is not None:
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(
                float(self.settings.burst), self._tokens + elapsed * self.settings.qps
            )
        self._updated = now


class MaxOfLimiter:
    """The longest delay of several limiters; every limiter records every failure."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, key: Hashable) -> float:
        """The maximum of all limiters' delays (all are asked, so all count the failure)."""
        return max([limiter.when(key) for limiter in self.limiters])

    def forget(self, key: Hashable) -> None:
        """Forget ``key`` in every limiter."""
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        """The highest count any limiter keeps for ``key``."""
        return max(limiter.num_requeues(key) for limiter in self.limiters)

    @property
    def tracked(self) -> int:
        """The most keys any limiter keeps a history for."""
        return max(limiter.tracked for limiter in self.limiters)


def controller_limiter(
    *,
    clock: clocks.Clock | None = None,
    item: ItemBackoffSettings = DEFAULT_ITEM_BACKOFF,
    bucket: TokenBucketSettings = DEFAULT_TOKEN_BUCKET,
) -> MaxOfLimiter:
    """The controller's default: max(per-key exponential backoff, overall token bucket)."""
    return MaxOfLimiter(
        ItemExponentialLimiter(settings=item),
        TokenBucketLimiter(settings=bucket, clock=clock),
    )


class Random(Protocol):
    """A source of uniform floats in ``[0, 1)``; ``random.Random`` is one."""

    def random(self) -> float:
        """A uniform float in ``[0, 1)``."""


class ReconnectBackoff:
    """Delays for a reconnect loop: exponential with jitter, reset on success or after quiet.

    Usage: on each failure ``await backoff.sleep()``; once the connection works again (e.g. a
    watch delivered an event or a list succeeded), ``backoff.reset()``.
    """

    def __init__(
        self,
        *,
        settings: ReconnectSettings = DEFAULT_RECONNECT,
        clock: clocks.Clock | None = None,
        rng: Random | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock or clocks.LoopClock()
        self._rng: Random = rng or random.Random()
        self._failures = 0
        self._last_failure: float | None = None
        self._max_exp = _exponent_cap(settings.initial, settings.cap, settings.factor)

    @property
    def failures(self) -> int:
        """Consecutive failures counted since the last reset."""
        return self._failures

    def next_delay(self) -> float:
        """Record a failure and return the jittered delay before the next attempt."""
        s = self.settings
        now = self._clock.now()
        if self._last_failure is not None and now - self._last_failure >= s.reset_after:
            self._failures = 0
        exponent = min(self._failures, self._max_exp)
        self._failures += 1
        self._last_failure = now
        delay = min(s.cap, s.initial * s.factor**exponent)
        return delay * (1.0 - s.jitter * self._rng.random())

    async def sleep(self) -> None:
        """Record a failure and sleep the jittered delay on the injected clock."""
        await self._clock.sleep(self.next_delay())

    def reset(self) -> None:
        """Start from ``initial`` again: call once the connection has proven healthy."""
        self._failures = 0
        self._last_failure = None
