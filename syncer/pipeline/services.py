"""One Service followed by name: the small informers behind :mod:`owning` and :mod:`dnswatch`.

Both need a single Service (the vCluster's own on the host, kube-dns in the virtual cluster),
listed and watched by ``fieldSelector=metadata.name=...``, which is what lets a Role restrict
them with ``resourceNames``. Each keeps only the fields it reads, so thousands of unrelated
fields never sit in memory. Their watch restarts count with their cluster's; their initial list
does not set ``informer_synced``, which reports the NetworkPolicy informers.
"""

from __future__ import annotations

from collections.abc import Callable

from syncer.pipeline import caching
from syncer.pipeline.watching import Informer, WatchMetrics
from syncer.runtime import clients
from syncer.runtime.clock import Clock

_IDENTITY = ("name", "namespace", "uid", "resourceVersion")


def identity(obj: caching.Json) -> caching.Json:
    """A Service kept as its name, namespace, uid and resourceVersion."""
    meta = obj.get("metadata") or {}
    return {"metadata": {k: meta[k] for k in _IDENTITY if k in meta}}


class RestartsOnly:
    """Forwards watch restarts to the metrics; drops the initial-list signal."""

    def __init__(self, metrics: WatchMetrics) -> None:
        self._metrics = metrics

    def watch_restarted(self, cluster: str, reason: str) -> None:
        self._metrics.watch_restarted(cluster, reason)

    def informer_synced(self, cluster: str) -> None:
        pass


def follow(
    *,
    api: clients.KubeApi,
    namespace: str,
    name: str,
    strip: Callable[[caching.Json], caching.Json],
    on_change: Callable[[caching.Json | None, caching.Json | None], None],
    metrics: WatchMetrics | None,
    clock: Clock | None,
) -> tuple[caching.Store, Informer]:
    """The store and informer of Service ``namespace/name``, kept as ``strip`` makes it."""
    store = caching.Store(strip=strip)
    informer = Informer(
        api=api,
        resource=clients.SERVICES,
        store=store,
        on_change=on_change,
        namespace=namespace,
        field_selector=f"metadata.name={name}",
        metrics=RestartsOnly(metrics) if metrics is not None else None,
        clock=clock,
    )
    return store, informer
