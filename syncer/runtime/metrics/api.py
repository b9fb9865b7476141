"""API requests (``clients.RequestObserver``) and informers (``watching.WatchMetrics``)."""

from __future__ import annotations

import prometheus_client

from syncer.runtime.metrics import labels
from syncer.runtime.metrics.labels import PREFIX


class ApiMetrics(labels.Labelled):
    """Requests by cluster, verb and code; watch restarts; informer sync state."""

    def _register_api(self) -> None:
        self._api_requests = prometheus_client.Counter(
            PREFIX + "api_requests_total",
            "Kubernetes API requests by cluster, verb and HTTP status code ('error' when no "
            "response arrived). 429s mean client or server rate limits; 409s are expected "
            "races; 5xx and 'error' point at the API server or the network.",
            ["cluster", "verb", "code"],
            registry=self.registry,
        )
        self._api_seconds = prometheus_client.Histogram(
            PREFIX + "api_request_duration_seconds",
            "Kubernetes API request latency by cluster and verb (for watch: until the stream "
            "was established).",
            ["cluster", "verb"],
            buckets=labels.API_BUCKETS,
            registry=self.registry,
        )
        self._watch_restarts = prometheus_client.Counter(
            PREFIX + "watch_restarts_total",
            "Watch streams restarted, by cluster and reason: closed (server ended it, normal), "
            "error (network or API failure, resumed with backoff), gone (410: history "
            "compacted, forced a full relist), relist (a new leader listed again to start from "
            "a current cache), resync (the periodic resync resumed it from its last version, "
            "so a silently dead connection hides nothing longer than one period).",
            ["cluster", "reason"],
            registry=self.registry,
        )
        self._informer_synced = prometheus_client.Gauge(
            PREFIX + "informer_synced",
            "1 once the cluster's informer finished its initial list. Until both are 1 the "
            "syncer is not ready and collects no orphans.",
            ["cluster"],
            registry=self.registry,
        )
        for cluster in labels.CLUSTERS:
            for restart in labels.WATCH_RESTART_REASONS:
                self._watch_restarts.labels(cluster, restart)
            self._informer_synced.labels(cluster).set(0)

    def observe_api(self, cluster: str, verb: str, code: int | str | None, seconds: float) -> None:
        """Count one API request and its latency.

        ``code`` is the HTTP status (int or string); None, 0 or "error" mean no response arrived.
        """
        cluster = self._check(cluster, labels.CLUSTERS, "cluster")
        verb = self._check(verb, labels.VERBS, "verb")
        self._api_requests.labels(
            cluster, verb, str(code) if code and code != "0" else "error"
        ).inc()
        self._api_seconds.labels(cluster, verb).observe(seconds)

    def watch_restarted(self, cluster: str, reason: str) -> None:
        """Count a watch that ended and was started again (a ``WatchRestartReason``)."""
        self._watch_restarts.labels(
            self._check(cluster, labels.CLUSTERS, "cluster"),
            self._check(reason, labels.WATCH_RESTART_REASONS, "reason"),
        ).inc()

    def informer_synced(self, cluster: str, synced: bool = True) -> None:
        """Mark whether the cluster's informer has completed its initial list."""
        self._informer_synced.labels(self._check(cluster, labels.CLUSTERS, "cluster")).set(
            int(synced)
        )
