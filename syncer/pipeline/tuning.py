"""The controller's tunables and their defaults (:class:`ControllerSettings`).

Kept apart from :mod:`syncer.pipeline.controller`, with no imports, because the configuration
layer takes the ``--workers`` and ``--resync-period`` defaults from here before ``run`` loads
the asyncio stack: each default lives only here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerSettings:
    workers: int = 4
    """Concurrent reconciles. Each is I/O-bound (one host write at most), so four keep a burst
    of changes moving and saturate an API server's per-client fairness share; more only adds
    conflicts, and the host API server rate limits anyway."""

    resync_period: float = 300.0
    """Seconds between re-enqueues of every key (no LIST: both watches resume from their last
    version, two requests). Repairs anything an event missed, even one a half-open watch
    swallowed, and retries keys given up on; a no-op reconcile costs no API call, so five
    minutes bounds staleness cheaply."""

    max_retries: int = 100
    """Temporary failures of one key before giving up until the next change or resync; with
    the default backoff (50 ms doubling to 5 s) that is about eight minutes of retries, so an
    outage of minutes gives up on nothing and is recovered from within seconds."""

    stall_after: float = 900.0
    """An informer with no list, event, bookmark or attempt for this long fails /healthz.
    Watches end every 5-10 minutes by themselves, so silence beyond that means a hung task."""

    fail_after: float = 120.0
    """An informer that completed its initial list and then fails every attempt for this long
    fails /healthz (e.g. 401 after a credential rotation: a restart reads fresh credentials).
    Longer than an API server's usual restart; before the first list a failure is a wait
    (/readyz), never a reason to restart."""
