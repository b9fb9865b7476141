"""The work queue's observations (``queueing.QueueMetrics``)."""

from __future__ import annotations

import prometheus_client

from syncer.runtime.metrics import labels
from syncer.runtime.metrics.labels import PREFIX


class QueueMetrics(labels.Labelled):
    """Depth, adds, retries and wait of the work queue."""

    def _register_queue(self) -> None:
        self._queue_depth = prometheus_client.Gauge(
            PREFIX + "queue_depth",
            "Keys waiting for a worker. Staying above zero means the workers cannot keep up.",
            registry=self.registry,
        )
        self._queue_adds = prometheus_client.Counter(
            PREFIX + "queue_adds_total",
            "Keys that became due for a reconcile (duplicates collapsed): the event rate the "
            "syncer actually works on.",
            registry=self.registry,
        )
        self._queue_retries = prometheus_client.Counter(
            PREFIX + "queue_retries_total",
            "Keys re-queued with backoff after a failed reconcile. A steady rate means a "
            "persistent failure; see errors_total and the logs.",
            registry=self.registry,
        )
        self._queue_wait = prometheus_client.Histogram(
            PREFIX + "queue_wait_seconds",
            "Time a due key waited in the queue before a worker took it. High values mean too "
            "few workers (--workers) or slow reconciles.",
            buckets=labels.QUEUE_WAIT_BUCKETS,
            registry=self.registry,
        )

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
