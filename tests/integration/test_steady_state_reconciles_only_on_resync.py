"""In steady state nothing but the resync re-enqueues every key (bench steady, real backend).

Events that change nothing a copy depends on must not reconcile anything: an update of the
vCluster's Service that keeps its uid (labels, annotations, status), bookmarks, a watch resumed
by the resync, a relist returning the same objects. Each reconcile is cheap, but a source that
re-enqueues every key on such events multiplies the steady-state work by the event rate.
"""

from __future__ import annotations

from typing import Any

from syncer.pipeline.watching import Informer
from tests.support.harness import (
    HOST_NAMESPACE,
    VCLUSTER,
    Clusters,
    Run,
    create,
    network_policy,
    wait_converged,
    wait_for,
)
from translate import ObjectKey

POLICIES = ("web", "api", "db")


async def _reconciles(run: Run) -> float:
    return (await run.metrics()).value("netpol_syncer_reconcile_total")


def _labelled(service: dict[str, Any]) -> None:
    service["metadata"].setdefault("labels", {})["touched"] = "yes"


async def _rewatch_then_relist(informer: Informer) -> None:
    """What the resync does (resume the watch), then what a new leader does (list again)."""
    lists, watches = informer.lists, informer.watches
    informer.rewatch()
    await wait_for(lambda: informer.watches > watches, timeout=10)
    informer.relist()
    await wait_for(lambda: informer.lists > lists, timeout=10)


async def test_unchanged_inputs_reconcile_nothing(clusters: Clusters) -> None:
    """After convergence: a Service update keeping its uid, a resync-style rewatch and a
    relist of identical objects (with bookmarks flowing meanwhile) reconcile no key."""
    create(
        clusters.host,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": VCLUSTER, "namespace": HOST_NAMESPACE},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]},
        },
    )
    for name in POLICIES:
        create(clusters.virtual, network_policy(name, ingress=[{}]))
    async with clusters.run() as run:
        await wait_converged(clusters)
        controller = run.syncer.controller
        assert controller is not None
        await wait_for(lambda: not len(controller.queue) and not controller.queue.processing)
        before = await _reconciles(run)

        service = clusters.host.store.get("services", HOST_NAMESPACE, VCLUSTER)
        _labelled(service)
        service = clusters.host.store.update(service)
        version = service["metadata"]["resourceVersion"]
        key = ObjectKey(HOST_NAMESPACE, VCLUSTER)
        await wait_for(lambda: controller.owner.store.version(key) == version, timeout=10)

        for informer in (controller.virtual_informer, controller.host_informer):
            await _rewatch_then_relist(informer)

        await wait_for(lambda: not len(controller.queue) and not controller.queue.processing)
        assert await _reconciles(run) == before
