"""Prometheus metrics of one controller instance (SPEC §7), in a registry of its own.

Neighbours: the worker loop and reconciler report through the small typed methods below; the
work queue observes through ``queueing.QueueMetrics`` (this class satisfies it); ``serving``
exposes :meth:`Metrics.render` on ``/metrics``. Nothing here touches prometheus-client's global
registry, because several controllers share one test process (two replicas in a leader-election
test) and each must count only its own work.

Label values of closed sets are documented as ``Literal`` aliases, but the methods take ``str``
because the callers' protocols (``watching.WatchMetrics``, ``clients.RequestObserver`` ...) do;
values are checked at run time instead (see ``Metrics._check``), since a misspelt value would
create a series no dashboard or alert queries. Every series of a closed set is created at zero
up front, so ``rate()`` and ``increase()`` work from the first scrape instead of starting at the
first failure.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Callable
from typing import Final, Literal, get_args

import prometheus_client
import structlog
from prometheus_client import exposition

_log = structlog.get_logger("syncer.runtime.metrics")

PREFIX: Final = "netpol_syncer_"
DISTRIBUTION: Final = "netpol-syncer"

ReconcileResult = Literal[
    "created", "updated", "deleted", "unchanged", "skipped", "error", "conflict"
]
Cluster = Literal["virtual", "host"]
WatchRestartReason = Literal["closed", "error", "gone", "relist", "resync"]
Verb = Literal["get", "list", "watch", "create", "update", "patch", "delete"]
DriftKind = Literal["recreated", "reverted"]
ErrorReason = Literal[
    "PatchFailed", "HostRejected", "HostNameCollision", "HostPeerRefused", "Forbidden", "ApiError"
]
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
ERROR_REASONS: Final[tuple[ErrorReason, ...]] = get_args(ErrorReason)
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


def package_version() -> str:
    """The installed version of this distribution, or ``unknown`` when run from a bare tree."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Metrics:
    """Every metric of one controller, registered in ``self.registry`` and nowhere else.

    Methods are synchronous and cheap (a lock and an add), so the hot path may call them
    freely; call them from any thread. Use one instance per controller. ``strict=True`` (for
    tests) makes a label value outside its documented set raise ``ValueError``.
    """

    def __init__(self, *, version: str | None = None, strict: bool = False) -> None:
        self._strict = strict
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        r = self.registry

        self._reconcile_total = prometheus_client.Counter(
            PREFIX + "reconcile_total",
            "Reconciles of a virtual policy key by outcome. created/updated/deleted are host "
            "writes; unchanged means the host copy already matched; skipped means nothing to do "
            "(sync disabled, not the leader, foreign object); error and conflict were retried.",
            ["result"],
            registry=r,
        )
        self._reconcile_seconds = prometheus_client.Histogram(
            PREFIX + "reconcile_duration_seconds",
            "Wall time of one reconcile, including its host write. A rising tail means a slow "
            "host API server or a CPU-starved syncer.",
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self._sync_latency = prometheus_client.Histogram(
            PREFIX + "sync_latency_seconds",
            "Time from the first unprocessed virtual event for a key to the host write that made "
            "the host match it: how long a tenant's policy change takes to be enforced.",
            buckets=SYNC_LATENCY_BUCKETS,
            registry=r,
        )
        self._queue_depth = prometheus_client.Gauge(
            PREFIX + "queue_depth",
            "Keys waiting for a worker. Staying above zero means the workers cannot keep up.",
            registry=r,
        )
        self._queue_adds = prometheus_client.Counter(
            PREFIX + "queue_adds_total",
            "Keys that became due for a reconcile (duplicates collapsed): the event rate the "
            "syncer actually works on.",
            registry=r,
        )
        self._queue_retries = prometheus_client.Counter(
            PREFIX + "queue_retries_total",
            "Keys re-queued with backoff after a failed reconcile. A steady rate means a "
            "persistent failure; see errors_total and the logs.",
            registry=r,
        )
        self._queue_wait = prometheus_client.Histogram(
            PREFIX + "queue_wait_seconds",
            "Time a due key waited in the queue before a worker took it. High values mean too "
            "few workers (--workers) or slow reconciles.",
            buckets=QUEUE_WAIT_BUCKETS,
            registry=r,
        )
        self._watch_restarts = prometheus_client.Counter(
            PREFIX + "watch_restarts_total",
            "Watch streams restarted, by cluster and reason: closed (server ended it, normal), "
            "error (network or API failure, resumed with backoff), gone (410: history "
            "compacted, forced a full relist), relist (a new leader listed again to start from "
            "a current cache), resync (the periodic resync resumed it from its last version, "
            "so a silently dead connection hides nothing longer than one period).",
            ["cluster", "reason"],
            registry=r,
        )
        self._api_requests = prometheus_client.Counter(
            PREFIX + "api_requests_total",
            "Kubernetes API requests by cluster, verb and HTTP status code ('error' when no "
            "response arrived). 429s mean client or server rate limits; 409s are expected "
            "races; 5xx and 'error' point at the API server or the network.",
            ["cluster", "verb", "code"],
            registry=r,
        )
        self._api_seconds = prometheus_client.Histogram(
            PREFIX + "api_request_duration_seconds",
            "Kubernetes API request latency by cluster and verb (for watch: until the stream "
            "was established).",
            ["cluster", "verb"],
            buckets=API_BUCKETS,
            registry=r,
        )
        self._synced_policies = prometheus_client.Gauge(
            PREFIX + "synced_policies",
            "Virtual policies whose host copy currently matches. Below virtual_policies means "
            "some tenant policies are not (yet) enforced on the host.",
            registry=r,
        )
        self._host_policies = prometheus_client.Gauge(
            PREFIX + "host_policies",
            "Host policies owned by this syncer, as seen in its cache. Above virtual_policies "
            "means orphans awaiting collection.",
            registry=r,
        )
        self._virtual_policies = prometheus_client.Gauge(
            PREFIX + "virtual_policies",
            "NetworkPolicies in the virtual cluster, as seen in the syncer's cache.",
            registry=r,
        )
        self._drift_repairs = prometheus_client.Counter(
            PREFIX + "drift_repairs_total",
            "Host copies repaired after an out-of-band change: recreated after deletion or "
            "reverted after an edit. A steady rate means another tool fights this syncer.",
            ["kind"],
            registry=r,
        )
        self._errors = prometheus_client.Counter(
            PREFIX + "errors_total",
            "Sync failures by reason; the last good host copy was kept and a Warning event "
            "names the virtual policy. PatchFailed: a configured patch failed; HostRejected: "
            "the host refused the copy (4xx); HostNameCollision: two virtual policies map to one "
            "host name; HostPeerRefused: a policy references a host peer the guardrails do not "
            "approve; Forbidden: RBAC; ApiError: other API failures.",
            ["reason"],
            registry=r,
        )
        self._events = prometheus_client.Counter(
            PREFIX + "events_total",
            "Kubernetes Events this syncer emitted on virtual policies, by type and reason.",
            ["type", "reason"],
            registry=r,
        )
        self._leader = prometheus_client.Gauge(
            PREFIX + "leader",
            "1 when this replica may write (it holds the lease, or leader election is off), "
            "else 0. The sum over replicas should be exactly 1.",
            registry=r,
        )
        self._leader_transitions = prometheus_client.Counter(
            PREFIX + "leader_transitions_total",
            "Times this replica gained or lost the lease. A steady rate means flapping "
            "leadership (lease too short, API server slow, or clock trouble).",
            registry=r,
        )
        self._informer_synced = prometheus_client.Gauge(
            PREFIX + "informer_synced",
            "1 once the cluster's informer finished its initial list. Until both are 1 the "
            "syncer is not ready and collects no orphans.",
            ["cluster"],
            registry=r,
        )
        self._task_failures = prometheus_client.Counter(
            PREFIX + "task_failures_total",
            "Unexpected errors of a long-running task (elector attempt, informer, worker, "
            "resync, event recorder, kubeconfig watcher), each logged with its stack. The task "
            "was retried; one that keeps failing fails /healthz and ends the process.",
            ["task"],
            registry=r,
        )
        self._waiting = prometheus_client.Gauge(
            PREFIX + "waiting",
            "1 while the syncer waits for an input before it can sync: the virtual kubeconfig "
            "file, an API server that answers, or RBAC on it. /readyz says the same with the "
            "last error.",
            ["for"],
            registry=r,
        )
        self._build_info = prometheus_client.Gauge(
            PREFIX + "build_info",
            "Always 1; the labels say which syncer version and Python runtime are running.",
            ["version", "python"],
            registry=r,
        )

        for result in RECONCILE_RESULTS:
            self._reconcile_total.labels(result)
        for cluster in CLUSTERS:
            for restart in WATCH_RESTART_REASONS:
                self._watch_restarts.labels(cluster, restart)
            self._informer_synced.labels(cluster).set(0)
        for kind in DRIFT_KINDS:
            self._drift_repairs.labels(kind)
        for reason in ERROR_REASONS:
            self._errors.labels(reason)
        for task in TASK_NAMES:
            self._task_failures.labels(task)
        for what in WAIT_FOR:
            self._waiting.labels(what).set(0)
        self._is_leader = False
        self._unexpected: set[tuple[str, str]] = set()
        self._build_info.labels(version or package_version(), platform.python_version()).set(1)

    # -- reconciles -------------------------------------------------------------------------------

    def observe_reconcile(self, result: str, seconds: float) -> None:
        """Count one finished reconcile of a key (a ``ReconcileResult``) and its duration."""
        self._reconcile_total.labels(self._check(result, RECONCILE_RESULTS, "result")).inc()
        self._reconcile_seconds.observe(seconds)

    def observe_sync_latency(self, seconds: float) -> None:
        """Record event-to-host-write latency; call once per write that made the host match."""
        self._sync_latency.observe(seconds)

    def drift_repaired(self, kind: str) -> None:
        """Count a host copy ``recreated`` after deletion or ``reverted`` after an edit."""
        self._drift_repairs.labels(self._check(kind, DRIFT_KINDS, "kind")).inc()

    def sync_error(self, reason: str) -> None:
        """Count a sync failure (an ``ErrorReason``) that kept the last good host copy."""
        self._errors.labels(self._check(reason, ERROR_REASONS, "reason")).inc()

    def event_emitted(self, type_: str, reason: str) -> None:
        """Count a Kubernetes Event emitted: ``Normal`` or ``Warning``, and its CamelCase reason."""
        self._events.labels(self._check(type_, EVENT_TYPES, "type"), reason).inc()

    # -- queue (satisfies queueing.QueueMetrics) --------------------------------------------------

    def depth(self, depth: int) -> None:
        """The number of keys ready to be handed out changed to ``depth``."""
        self._queue_depth.set(depth)

    def added(self) -> None:
        """A key became due."""
        self._queue_adds.inc()

    def retried(self) -> None:
        """A key was re-added with backoff after a failure."""
        self._queue_retries.inc()

    def waited(self, seconds: float) -> None:
        """A key was handed to a worker ``seconds`` after it became due."""
        self._queue_wait.observe(seconds)

    # -- API and watches --------------------------------------------------------------------------

    def observe_api(self, cluster: str, verb: str, code: int | str | None, seconds: float) -> None:
        """Count one API request and its latency.

        ``code`` is the HTTP status (int or string); None, 0 or "error" mean no response arrived.
        """
        cluster = self._check(cluster, CLUSTERS, "cluster")
        verb = self._check(verb, VERBS, "verb")
        self._api_requests.labels(
            cluster, verb, str(code) if code and code != "0" else "error"
        ).inc()
        self._api_seconds.labels(cluster, verb).observe(seconds)

    def watch_restarted(self, cluster: str, reason: str) -> None:
        """Count a watch that ended and was started again (a ``WatchRestartReason``)."""
        self._watch_restarts.labels(
            self._check(cluster, CLUSTERS, "cluster"),
            self._check(reason, WATCH_RESTART_REASONS, "reason"),
        ).inc()

    def informer_synced(self, cluster: str, synced: bool = True) -> None:
        """Mark whether the cluster's informer has completed its initial list."""
        self._informer_synced.labels(self._check(cluster, CLUSTERS, "cluster")).set(int(synced))

    # -- state gauges -----------------------------------------------------------------------------

    def set_policies(
        self, *, virtual: int | None = None, host: int | None = None, synced: int | None = None
    ) -> None:
        """Set the policy-count gauges that are given; the others keep their values."""
        if virtual is not None:
            self._virtual_policies.set(virtual)
        if host is not None:
            self._host_policies.set(host)
        if synced is not None:
            self._synced_policies.set(synced)

    def track_policies(
        self,
        *,
        virtual: Callable[[], int] | None = None,
        host: Callable[[], int] | None = None,
        synced: Callable[[], int] | None = None,
    ) -> None:
        """Read the given policy counts at scrape time instead (e.g. ``lambda: len(cache)``).

        Costs nothing on the hot path. The callables run in the server's thread (the event
        loop), so they must be cheap and must not block. A tracked gauge ignores
        :meth:`set_policies`.
        """
        for gauge, read in (
            (self._virtual_policies, virtual),
            (self._host_policies, host),
            (self._synced_policies, synced),
        ):
            if read is not None:
                gauge.set_function(read)

    def set_leader(self, is_leader: bool) -> None:
        """Record whether this replica may write; a change of state counts one transition.

        The initial state is "not leader", so the first ``set_leader(True)`` (also when leader
        election is off) counts one transition.
        """
        if is_leader != self._is_leader:
            self._is_leader = is_leader
            self._leader_transitions.inc()
        self._leader.set(int(is_leader))

    # -- supervision and waits ------------------------------------------------------------------

    def task_failed(self, task: str) -> None:
        """Count an unexpected error of a long-running task (a ``TaskName``)."""
        self._task_failures.labels(self._check(task, TASK_NAMES, "task")).inc()

    def track_waiting(self, what: str, read: Callable[[], bool]) -> None:
        """Read at scrape time whether the syncer waits for ``what`` (a ``WaitFor``)."""
        self._waiting.labels(self._check(what, WAIT_FOR, "for")).set_function(lambda: float(read()))

    # -- internals --------------------------------------------------------------------------------

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

    # -- exposition -------------------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition payload and its content type, negotiated from an ``Accept`` header.

        Without one (or with one naming no known format) this is the classic Prometheus text
        format; a scraper asking for OpenMetrics gets OpenMetrics.
        """
        encoder, content_type = exposition.choose_encoder(accept or "")
        return encoder(self.registry), content_type
