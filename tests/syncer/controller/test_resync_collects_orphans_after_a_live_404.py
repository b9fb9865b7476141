"""The periodic resync gives every key another chance without a LIST (SPEC §6): it enqueues
every virtual key and the owner of every host copy, so a copy whose virtual object is gone is
collected even after its deletion was given up; and it is deleted only once the virtual API
itself answers 404. The controller runs on a fake clock, so the resync comes exactly when the
test moves time, never by a real-time margin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

import translate
from syncer.pipeline import controller
from syncer.runtime import clients, metrics
from syncer.runtime import clock as clocks
from tests.support.harness import (
    HOST_NAMESPACE,
    NETPOLS,
    TARGET,
    Clusters,
    create,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

RESYNC = 600.0
COPY = "web-x-default-x-vc"


@pytest_asyncio.fixture
async def running(
    clusters: Clusters,
) -> AsyncIterator[tuple[controller.Controller, clocks.FakeClock]]:
    """A leading controller on both clusters and a fake clock, started with ``web`` synced."""
    create(clusters.virtual, network_policy("web"))
    clock = clocks.FakeClock()
    virtual = await clients.KubeApi.connect(clusters.virtual.kubeconfig(), cluster="virtual")
    host = await clients.KubeApi.connect(clusters.host.kubeconfig(), cluster="host")
    ctl = controller.Controller(
        target=TARGET,
        virtual_api=virtual,
        host_api=host,
        desire=lambda obj: translate.to_host(obj, TARGET),
        metrics=metrics.Metrics(),
        settings=controller.ControllerSettings(workers=2, resync_period=RESYNC),
        clock=clock,
    )
    task = asyncio.create_task(ctl.run())
    try:
        await wait_converged(clusters)
        yield ctl, clock
    finally:
        await ctl.shutdown(grace=1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await virtual.close()
        await host.close()


async def test_resync_collects_an_orphan_whose_deletion_was_given_up(
    clusters: Clusters, running: tuple[controller.Controller, clocks.FakeClock]
) -> None:
    """A copy whose deletion the host refused (403, given up) stays until the resync; the
    resync enqueues its owner from the host cache, the virtual API answers 404, and the copy
    is deleted then, not before."""
    ctl, clock = running
    refused = clusters.host.faults.fail(verb="delete", resource=NETPOLS, status=403)
    clusters.virtual.store.delete(NETPOLS, "default", "web")
    await wait_for(lambda: clusters.host.counters["delete", NETPOLS] == 1, timeout=10)
    await wait_for(lambda: ctl.virtual.get(translate.ObjectKey("default", "web")) is None)
    await wait_for(lambda: len(ctl.queue) == 0 and ctl.queue.processing == 0)
    refused.remove()
    gets = clusters.virtual.counters["get", NETPOLS]

    await clock.run_for(RESYNC - 1.0)
    await asyncio.sleep(0.2)
    assert COPY in host_copies(clusters.host), "deleted before the resync"
    assert clusters.host.counters["delete", NETPOLS] == 1

    await clock.run_for(1.0)
    await wait_for(
        lambda: COPY not in host_copies(clusters.host),
        timeout=10,
        message="the resync did not collect the orphan",
    )
    assert clusters.virtual.counters["get", NETPOLS] == gets + 1, "deleted without a live 404"
    assert clusters.host.store.find(NETPOLS, HOST_NAMESPACE, COPY) is None
