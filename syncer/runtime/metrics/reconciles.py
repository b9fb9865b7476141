"""Reconciles and their outcomes: counts, durations, latency, drift, errors, Events."""

from __future__ import annotations

import prometheus_client

from syncer.runtime.metrics import labels
from syncer.runtime.metrics.labels import PREFIX


class ReconcileMetrics(labels.Labelled):
    """What the worker loop, reconciler and event recorder report."""

    def _register_reconciles(self) -> None:
        self._reconcile_total = prometheus_client.Counter(
            PREFIX + "reconcile_total",
            "Reconciles of a virtual policy key by outcome. created/updated/deleted are host "
            "writes; unchanged means the host copy already matched; skipped means nothing to do "
            "(sync disabled, not the leader, foreign object); error and conflict were retried.",
            ["result"],
            registry=self.registry,
        )
        self._reconcile_seconds = prometheus_client.Histogram(
            PREFIX + "reconcile_duration_seconds",
            "Wall time of one reconcile, including its host write. A rising tail means a slow "
            "host API server or a CPU-starved syncer.",
            buckets=labels.RECONCILE_BUCKETS,
            registry=self.registry,
        )
        self._sync_latency = prometheus_client.Histogram(
            PREFIX + "sync_latency_seconds",
            "Time from the first unprocessed virtual event for a key to the host write that made "
            "the host match it: how long a tenant's policy change takes to be enforced.",
            buckets=labels.SYNC_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._drift_repairs = prometheus_client.Counter(
            PREFIX + "drift_repairs_total",
            "Host copies repaired after an out-of-band change: recreated after deletion or "
            "reverted after an edit. A steady rate means another tool fights this syncer.",
            ["kind"],
            registry=self.registry,
        )
        self._errors = prometheus_client.Counter(
            PREFIX + "errors_total",
            "Sync failures by reason; the last good host copy was kept and a Warning event "
            "names the virtual policy. PatchFailed: a configured patch failed; HostRejected: "
            "the host refused the copy (4xx); HostNameCollision: two virtual policies map to one "
            "host name; HostPeerRefused: a policy references a host peer the guardrails do not "
            "approve; Forbidden: RBAC; ApiError: other API failures.",
            ["reason"],
            registry=self.registry,
        )
        self._events = prometheus_client.Counter(
            PREFIX + "events_total",
            "Kubernetes Events this syncer emitted on virtual policies, by type and reason.",
            ["type", "reason"],
            registry=self.registry,
        )
        for result in labels.RECONCILE_RESULTS:
            self._reconcile_total.labels(result)
        for kind in labels.DRIFT_KINDS:
            self._drift_repairs.labels(kind)
        for reason in labels.ERROR_REASONS:
            self._errors.labels(reason)

    def observe_reconcile(self, result: str, seconds: float) -> None:
        """Count one finished reconcile of a key (a ``ReconcileResult``) and its duration."""
        self._reconcile_total.labels(self._check(result, labels.RECONCILE_RESULTS, "result")).inc()
        self._reconcile_seconds.observe(seconds)

    def observe_sync_latency(self, seconds: float) -> None:
        """Record event-to-host-write latency; call once per write that made the host match."""
        self._sync_latency.observe(seconds)

    def drift_repaired(self, kind: str) -> None:
        """Count a host copy ``recreated`` after deletion or ``reverted`` after an edit."""
        self._drift_repairs.labels(self._check(kind, labels.DRIFT_KINDS, "kind")).inc()

    def sync_error(self, reason: str) -> None:
        """Count a sync failure (an ``ErrorReason``) that kept the last good host copy."""
        self._errors.labels(self._check(reason, labels.ERROR_REASONS, "reason")).inc()

    def event_emitted(self, type_: str, reason: str) -> None:
        """Count a Kubernetes Event emitted: ``Normal`` or ``Warning``, and its CamelCase reason."""
        self._events.labels(self._check(type_, labels.EVENT_TYPES, "type"), reason).inc()
