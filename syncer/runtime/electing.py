"""Leader election on a ``coordination.k8s.io/v1`` Lease, after client-go's leaderelection.

Only the leader writes. The safety argument, with client-go's defaults (15 s / 10 s / 2 s):

- a candidate takes the lease over only after it has seen the lease record unchanged for
  ``lease_duration``, measured on its own monotonic clock from when it *observed* the record
  (never by comparing timestamps written by another machine's clock);
- the leader stops writing as soon as ``renew_deadline`` has passed since the start of its
  last successful renewal (:meth:`LeaderElector.may_write`), even if its loop is stuck;
- ``renew_deadline < lease_duration``, so the old leader has stopped before anyone may start,
  with ``lease_duration - renew_deadline`` of margin for a write already in flight.

On shutdown the leader releases the lease (empty holder), so a standby takes over at its next
attempt instead of waiting out the lease.

Every time reading, sleep and request deadline comes from the injected clock (the lease's
``renewTime`` too), so the margins above are tested exactly on a fake clock.

Any error of an attempt, expected (API, timeout) or not (a credential loader failing while it
re-reads the token file), is a failed attempt: the elector never ends on its own. An unexpected
one is logged with its stack and counted; a leader whose attempts fail stops leading at the
renew deadline (the loss is signalled then, not a retry period later) and keeps trying.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from syncer.runtime import clients, errors
from syncer.runtime import clock as clocks
from syncer.runtime.clock import Clock, LoopClock
from syncer.runtime.leases import LeaseSettings as LeaseSettings

log = structlog.get_logger("syncer.runtime.electing")

JITTER = 0.2
"""Attempts by non-leaders come every ``retry_period * (1 - JITTER * U)``: spread so that
replicas do not retry in lockstep, but never later than ``retry_period``, so a standby takes
over at most ``lease_duration + retry_period`` after the leader's last renewal."""

EXPIRY_SLACK = 1e-6
"""Seconds an attempt timed for a lease's expiry waits beyond it, so that it finds the lease
expired whatever the rounding of the clock's arithmetic."""


def default_identity() -> str:
    return f"{os.environ.get('HOSTNAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


FAIL_AFTER = 120.0
"""Seconds of unexpected errors in a row after which :meth:`LeaderElector.health` fails, so
that a restart (fresh credentials) is tried; API errors are outages to wait out instead."""


class LeaderMetrics(Protocol):
    def set_leader(self, is_leader: bool) -> None: ...

    def task_failed(self, task: str) -> None: ...


class Leadership(Protocol):
    """What the controller needs to know about leadership."""

    def may_write(self) -> bool: ...

    async def wait_leading(self) -> None: ...

    async def wait_lost(self) -> None: ...


class AlwaysLeader:
    """Leadership when election is off: always leading, never lost."""

    def may_write(self) -> bool:
        return True

    async def wait_leading(self) -> None:
        return None

    async def wait_lost(self) -> None:
        await asyncio.Event().wait()


class LeaderElector:
    """Acquires, renews and releases one Lease; :meth:`run` until cancelled."""

    def __init__(
        self,
        *,
        api: clients.KubeApi,
        settings: LeaseSettings,
        clock: Clock | None = None,
        metrics: LeaderMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._api = api
        self._clock = clock or LoopClock()
        self._metrics = metrics
        self._rng = rng or random.Random()
        self._wall_origin = datetime.now(UTC) - timedelta(seconds=self._clock.now())
        """Wall time at the clock's origin: the lease's timestamps are read from the clock too,
        so that on a fake clock every renewal still writes a new ``renewTime``."""
        self._leading = asyncio.Event()
        self._lost = asyncio.Event()
        self._renewed_at: float | None = None
        """Monotonic start of our last successful acquire/renew; None when not leading."""
        self._observed: tuple[str, str] | None = None
        """(holderIdentity, renewTime) of the lease record as last read."""
        self._observed_at = 0.0
        """Monotonic time the observed record last changed."""
        self._lease: dict[str, Any] | None = None
        self._attempted = False
        """Whether an acquisition was tried yet: only the first one goes at once, so a lease
        that cannot even be read or created is retried every retry period, not in a loop."""
        self._crashing_since: float | None = None
        """Monotonic time of the first of the unexpected errors in a row; None after a success."""
        self.last_error: str | None = None

    # -- what the controller asks ---------------------------------------------------------------

    @property
    def leading(self) -> bool:
        return self.may_write()

    def may_write(self) -> bool:
        """True only while the last renewal is younger than ``renew_deadline``."""
        return (
            self._renewed_at is not None
            and self._clock.now() - self._renewed_at < self.settings.renew_deadline
        )

    async def wait_leading(self) -> None:
        await self._leading.wait()

    async def wait_lost(self) -> None:
        await self._lost.wait()

    def health(self, fail_after: float = FAIL_AFTER) -> dict[str, Any]:
        """A ``/healthz`` check: fails after ``fail_after`` seconds of unexpected errors only."""
        detail: dict[str, Any] = {"ok": True, "leading": self.may_write()}
        if self._crashing_since is not None:
            crashing = self._clock.now() - self._crashing_since
            detail.update(
                ok=crashing <= fail_after, failing_seconds=round(crashing, 1), error=self.last_error
            )
        return detail

    # -- the loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Try to acquire; once leading, renew every ``retry_period`` until it fails for
        ``renew_deadline``; then go back to trying. Runs until cancelled."""
        s = self.settings
        log.info("waiting for leadership", lease=f"{s.namespace}/{s.name}", identity=s.identity)
        while True:
            if self._renewed_at is None:
                await self._clock.sleep(self._attempt_delay())
                started = self._clock.now()
                if await self._try(within=s.retry_period):
                    self._became_leader(started)
                continue
            # Wake at the renew deadline at the latest, so a loss is signalled when writes stop.
            deadline = self._renewed_at + s.renew_deadline
            await self._clock.sleep(min(s.retry_period, max(deadline - self._clock.now(), 0.0)))
            started = self._clock.now()
            remaining = deadline - started
            if remaining > 0 and await self._try(within=remaining):
                self._renewed_at = started
            elif not self.may_write():
                self._lost_leadership("could not renew the lease within the renew deadline")

    async def release(self) -> None:
        """Give the lease up (empty holder) if we hold it; best effort, bounded in time.

        Also after renewals failed past the renew deadline, as long as the record last seen
        still names us: the update is conditional on the version we wrote, so it can only
        clear our own record, and a standby then need not wait the lease out."""
        ours = self._observed is not None and self._observed[0] == self.settings.identity
        if self._lease is None or (self._renewed_at is None and not ours):
            return
        if self._renewed_at is not None:
            self._lost_leadership("releasing on shutdown")
        try:
            await clocks.wait_for(
                self._clock, self._clear(self._lease), min(self.settings.retry_period, 1.0)
            )
        except (errors.ApiError, TimeoutError) as exc:
            log.warning("could not release the lease", error=str(exc))
        except Exception:
            # Shutdown goes on whatever happens here: the lease then simply runs out.
            log.exception("could not release the lease")
        else:
            self._lease = None
            log.info("released the lease", identity=self.settings.identity)

    async def _clear(self, lease: dict[str, Any]) -> None:
        """Write an empty holder on the version we know; on a conflict read the lease again and
        clear it only if it still names us (a renewal cancelled by shutdown may have landed
        after all, leaving our version stale)."""
        s = self.settings
        try:
            await self._api.replace(
                clients.LEASES, s.namespace, s.name, _cleared(lease, self._timestamp())
            )
        except errors.Conflict:
            current = await self._api.get(clients.LEASES, s.namespace, s.name)
            if (current.get("spec") or {}).get("holderIdentity") != s.identity:
                raise
            await self._api.replace(
                clients.LEASES, s.namespace, s.name, _cleared(current, self._timestamp())
            )

    def _attempt_delay(self) -> float:
        """Until the next acquisition attempt: at once the first time, then every retry period
        (shortened by jitter), and exactly when the holder's lease runs out if that is sooner."""
        if not self._attempted:
            self._attempted = True
            return 0.0
        delay = self.settings.retry_period * (1 - JITTER * self._rng.random())
        if self._observed is not None and self._observed[0]:
            expires_in = self._observed_at + self.settings.lease_duration - self._clock.now()
            # A hair past the expiry: a sleep of exactly ``expires_in`` can end an ulp before
            # it (float rounding), find the lease not yet expired, and read it again at once.
            delay = min(delay, max(expires_in, 0.0) + EXPIRY_SLACK)
        return delay

    async def _try(self, *, within: float) -> bool:
        try:
            done = await clocks.wait_for(self._clock, self._try_acquire_or_renew(), within)
        except (errors.ApiError, TimeoutError) as exc:
            log.info("lease attempt failed", identity=self.settings.identity, error=str(exc))
            self._crashing_since = None
            return False
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self._crashing_since is None:
                # The stack once per streak; then one line per attempt, every retry period.
                log.exception("lease attempt crashed", identity=self.settings.identity)
                self._crashing_since = self._clock.now()
            else:
                log.warning(
                    "lease attempt crashed again",
                    identity=self.settings.identity,
                    error=self.last_error,
                )
            if self._metrics is not None:
                self._metrics.task_failed("elector")
            return False
        self._crashing_since = None
        return done

    async def _try_acquire_or_renew(self) -> bool:
        s = self.settings
        now = self._timestamp()
        try:
            lease = await self._api.get(clients.LEASES, s.namespace, s.name)
        except errors.NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": s.name, "namespace": s.namespace},
                "spec": self._spec(acquire_time=now, renew_time=now, transitions=0),
            }
            try:
                self._lease = await self._api.create(clients.LEASES, s.namespace, body)
            except errors.AlreadyExists:
                return False
            self._observe(s.identity, now)
            return True

        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        self._observe(holder, str(spec.get("renewTime", "")))
        ours = holder == s.identity
        expired = self._clock.now() - self._observed_at >= s.lease_duration
        if holder and not ours and not expired:
            return False

        transitions = int(spec.get("leaseTransitions") or 0)
        updated = dict(lease)
        updated["spec"] = self._spec(
            acquire_time=spec.get("acquireTime", now) if ours else now,
            renew_time=now,
            transitions=transitions if ours else transitions + 1,
        )
        try:
            self._lease = await self._api.replace(clients.LEASES, s.namespace, s.name, updated)
        except errors.Conflict:
            return False
        self._observe(s.identity, now)
        return True

    def _timestamp(self) -> str:
        """MicroTime as the API expects it, now on the clock."""
        return _micro_time(self._wall_origin + timedelta(seconds=self._clock.now()))

    def _spec(self, *, acquire_time: str, renew_time: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.settings.identity,
            "leaseDurationSeconds": round(self.settings.lease_duration),
            "acquireTime": acquire_time,
            "renewTime": renew_time,
            "leaseTransitions": transitions,
        }

    def _observe(self, holder: str, renew_time: str) -> None:
        record = (holder, renew_time)
        if record != self._observed:
            self._observed = record
            self._observed_at = self._clock.now()

    def _became_leader(self, started: float) -> None:
        self._renewed_at = started
        self._lost.clear()
        self._leading.set()
        if self._metrics is not None:
            self._metrics.set_leader(True)
        log.info("became leader", identity=self.settings.identity)

    def _lost_leadership(self, why: str) -> None:
        self._renewed_at = None
        self._leading.clear()
        self._lost.set()
        if self._metrics is not None:
            self._metrics.set_leader(False)
        log.warning("stopped leading", identity=self.settings.identity, reason=why)


def _micro_time(at: datetime) -> str:
    """MicroTime as the API expects it."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cleared(lease: dict[str, Any], renew_time: str) -> dict[str, Any]:
    """``lease`` with an empty holder and a one-second duration: free at once."""
    cleared = dict(lease)
    spec = dict(cleared.get("spec") or {})
    spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=renew_time)
    cleared["spec"] = spec
    return cleared
