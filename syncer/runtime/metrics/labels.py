"""Label values of the syncer's metrics, and the check that keeps them in their sets.

Label values of closed sets are documented as ``Literal`` aliases, but the recording methods
take ``str`` because the callers' protocols (``watching.WatchMetrics``,
``clients.RequestObserver`` ...) do; values are checked at run time instead
(:meth:`Labelled._check`), since a misspelt value would create a series no dashboard or alert
queries. Every series of a closed set is created at zero up front, so ``rate()`` and
``increase()`` work from the first scrape instead of starting at the first failure.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import prometheus_client
import structlog

from syncer.runtime import errors
from syncer.runtime.clients import Verb

_log = structlog.get_logger("syncer.runtime.metrics")

PREFIX: Final = "netpol_syncer_"

ReconcileResult = Literal[
    "created", "updated", "deleted", "unchanged", "skipped", "error", "conflict"
]
Cluster = Literal["virtual", "host"]
WatchRestartReason = Literal["closed", "error", "gone", "relist", "resync"]
DriftKind = Literal["recreated", "reverted"]
ErrorReason = str
"""One of :data:`ERROR_REASONS`, the labels of ``syncer.runtime.errors``' reporting tables."""
EventType = Literal["Normal", "Warning"]
TaskName = Literal[
    "elector",
    "leadership",
    "informer-virtual",
    "informer-host",
    "informer-owner",
    "informer-dns",
    "event-recorder",
    "resync",
    "worker",
    "kubeconfig-virtual",
    "kubeconfig-host",
]
WaitFor = Literal["virtual-kubeconfig", "virtual-api", "virtual-rbac", "host-api", "host-rbac"]

RECONCILE_RESULTS: Final[tuple[ReconcileResult, ...]] = get_args(ReconcileResult)
CLUSTERS: Final[tuple[Cluster, ...]] = get_args(Cluster)
WATCH_RESTART_REASONS: Final[tuple[WatchRestartReason, ...]] = get_args(WatchRestartReason)
VERBS: Final[tuple[Verb, ...]] = get_args(Verb)
DRIFT_KINDS: Final[tuple[DriftKind, ...]] = get_args(DriftKind)
ERROR_REASONS: Final[tuple[ErrorReason, ...]] = errors.ERROR_REASONS
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)
TASK_NAMES: Final[tuple[TaskName, ...]] = get_args(TaskName)
WAIT_FOR: Final[tuple[WaitFor, ...]] = get_args(WaitFor)

# A reconcile is in-memory work plus at most one write: sub-millisecond when nothing changes,
# tens of milliseconds for a write, seconds only when the API server struggles.
RECONCILE_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Event-to-write latency: the target p99 is 50 ms; retries with backoff reach tens of seconds.
SYNC_LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
# Queue wait is microseconds when workers keep up and grows without bound when they do not.
QUEUE_WAIT_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
# One API round trip: a few ms in-cluster; 30 s is the request timeout scale.
API_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class Labelled:
    """What every area of :class:`metrics.Metrics` shares: its registry and the label check."""

    registry: prometheus_client.CollectorRegistry
    _strict: bool
    _unexpected: set[tuple[str, str]]

    def _check(self, value: str, allowed: tuple[str, ...], label: str) -> str:
        """Return ``value``; one outside ``allowed`` is a bug in the caller.

        Strict (tests): raise, so a typo fails the test that made it. Otherwise record it anyway
        and warn once: a metrics call must never take a worker down, and the value comes from
        code, so the series count stays bounded.
        """
        if value in allowed:
            return value
        message = f"metric label {label}={value!r} is not one of {', '.join(allowed)}"
        if self._strict:
            raise ValueError(message)
        if (label, value) not in self._unexpected:
            self._unexpected.add((label, value))
            _log.warning("unexpected metric label value", label=label, value=value)
        return value
