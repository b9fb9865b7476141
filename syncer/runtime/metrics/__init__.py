"""Prometheus metrics of one controller instance (SPEC §7), in a registry of its own.

Neighbours: the worker loop and reconciler report through the small typed methods of
:mod:`.reconciles`; the work queue observes through ``queueing.QueueMetrics`` (:mod:`.queue`);
the API client and informers through ``clients.RequestObserver`` and ``watching.WatchMetrics``
(:mod:`.api`); caches, elector and supervisor set the gauges of :mod:`.state`; ``serving``
exposes :meth:`Metrics.render` on ``/metrics``. One :class:`Metrics` object joins these areas
over one registry, so a component is handed the one object and sees only its protocol.
Nothing here touches prometheus-client's global registry, because several controllers share
one test process (two replicas in a leader-election test) and each must count only its own
work. Label sets and the label check are in :mod:`.labels`.
"""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Final

import prometheus_client
from prometheus_client import exposition

from syncer.runtime.metrics import api, queue, reconciles, state
from syncer.runtime.metrics.labels import (
    CLUSTERS,
    DRIFT_KINDS,
    ERROR_REASONS,
    PREFIX,
    RECONCILE_RESULTS,
    WAIT_FOR,
    WATCH_RESTART_REASONS,
)

__all__ = [
    "CLUSTERS",
    "DISTRIBUTION",
    "DRIFT_KINDS",
    "ERROR_REASONS",
    "PREFIX",
    "RECONCILE_RESULTS",
    "WAIT_FOR",
    "WATCH_RESTART_REASONS",
    "Metrics",
    "package_version",
]

DISTRIBUTION: Final = "netpol-syncer"


def package_version() -> str:
    """The installed version of this distribution, or ``unknown`` when run from a bare tree."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Metrics(reconciles.ReconcileMetrics, queue.QueueMetrics, api.ApiMetrics, state.StateMetrics):
    """Every metric of one controller, registered in ``self.registry`` and nowhere else.

    Methods are synchronous and cheap (a lock and an add), so the hot path may call them
    freely; call them from any thread. Use one instance per controller. ``strict=True`` (for
    tests) makes a label value outside its documented set raise ``ValueError``.
    """

    def __init__(self, *, version: str | None = None, strict: bool = False) -> None:
        self._strict = strict
        self._unexpected = set()
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self._register_reconciles()
        self._register_queue()
        self._register_api()
        self._register_state()
        prometheus_client.Gauge(
            PREFIX + "build_info",
            "Always 1; the labels say which syncer version and Python runtime are running.",
            ["version", "python"],
            registry=self.registry,
        ).labels(version or package_version(), platform.python_version()).set(1)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition payload and its content type, negotiated from an ``Accept`` header.

        Without one (or with one naming no known format) this is the classic Prometheus text
        format; a scraper asking for OpenMetrics gets OpenMetrics.
        """
        encoder, content_type = exposition.choose_encoder(accept or "")
        return encoder(self.registry), content_type
