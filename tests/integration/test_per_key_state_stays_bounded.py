"""Per-key bookkeeping is bounded by the keys that still need work (issue 10, item 6): a standby
that sees thousands of policies come and go keeps nothing per key, a leader drops what it
processed, and a replica that stops leading forgets its queue (the next leader lists anyway)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

import patches
from syncer.commands import running
from syncer.pipeline import caching, controller
from syncer.runtime import clients, metrics
from tests.support.harness import (
    NETPOLS,
    TARGET,
    Clusters,
    create,
    network_policy,
    wait_converged,
    wait_for,
)

CHURN = 600
"""Policies created and deleted again while the replica watches."""


class Switch:
    """Leadership a test turns on and off."""

    def __init__(self) -> None:
        self._leading = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost.set()

    def may_write(self) -> bool:
        return self._leading.is_set()

    async def wait_leading(self) -> None:
        await self._leading.wait()

    async def wait_lost(self) -> None:
        await self._lost.wait()

    def lead(self) -> None:
        self._lost.clear()
        self._leading.set()

    def lose(self) -> None:
        self._leading.clear()
        self._lost.set()


@pytest_asyncio.fixture
async def replica(clusters: Clusters) -> AsyncIterator[tuple[controller.Controller, Switch]]:
    """A controller on both clusters, started as a standby."""
    virtual = await clients.KubeApi.connect(clusters.virtual.kubeconfig(), cluster="virtual")
    host = await clients.KubeApi.connect(clusters.host.kubeconfig(), cluster="host")
    switch = Switch()
    ctl = controller.Controller(
        target=TARGET,
        virtual_api=virtual,
        host_api=host,
        desire=running.desire_for(TARGET, patches.PatchList()),
        metrics=metrics.Metrics(),
        settings=controller.ControllerSettings(workers=4),
        leadership=switch,
    )
    task = asyncio.create_task(ctl.run())
    await wait_for(lambda: ctl.ready()[0], timeout=10, message="caches never synced")
    yield ctl, switch
    await ctl.shutdown(grace=2.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await virtual.close()
    await host.close()


async def _churn(clusters: Clusters, ctl: controller.Controller, prefix: str) -> None:
    """Create and delete ``CHURN`` policies, then wait until the replica has seen it all."""
    for i in range(CHURN):
        create(clusters.virtual, network_policy(f"{prefix}{i}"))
        if i >= 10:
            clusters.virtual.store.delete(NETPOLS, "default", f"{prefix}{i - 10}")
    for i in range(CHURN - 10, CHURN):
        clusters.virtual.store.delete(NETPOLS, "default", f"{prefix}{i}")
    marker = create(clusters.virtual, network_policy(f"{prefix}-seen"))
    await wait_for(
        lambda: ctl.virtual.get(caching.key_of(marker)) is not None,
        timeout=20,
        message="the virtual watch never caught up",
    )


async def test_a_standby_keeps_no_state_for_policies_that_come_and_go(
    clusters: Clusters, replica: tuple[controller.Controller, Switch]
) -> None:
    """600 policies created and deleted on a standby leave its queue empty and every
    per-key map at zero; when it then leads, it syncs exactly the live policies."""
    ctl, switch = replica
    create(clusters.virtual, network_policy("live"))
    await _churn(clusters, ctl, "a")
    assert (len(ctl.queue), ctl.queue.waiting) == (0, 0)
    assert ctl.per_key_state() == dict.fromkeys(ctl.per_key_state(), 0)

    switch.lead()
    await wait_converged(clusters)
    await wait_for(lambda: not any(ctl.per_key_state().values()), timeout=10)


async def test_a_leader_drops_what_it_processed_and_forgets_all_when_it_stops_leading(
    clusters: Clusters, replica: tuple[controller.Controller, Switch]
) -> None:
    """Churn on a leader leaves no per-key state once synced; a replica that stops leading
    drops its queue and keeps nothing for the churn it then sees."""
    ctl, switch = replica
    switch.lead()
    await wait_for(lambda: ctl.started.is_set(), timeout=10)
    await _churn(clusters, ctl, "b")
    await wait_converged(clusters)
    await wait_for(
        lambda: not any(ctl.per_key_state().values()),
        timeout=10,
        message=lambda: f"left behind: {ctl.per_key_state()}",
    )

    clusters.host.faults.fail(verb="create", resource=NETPOLS, status=500)
    create(clusters.virtual, network_policy("failing"))
    await wait_for(lambda: ctl.per_key_state()["failures"] > 0, timeout=10)
    switch.lose()
    await wait_for(
        lambda: not any(ctl.per_key_state().values()),
        timeout=10,
        message=lambda: f"kept after losing the lease: {ctl.per_key_state()}",
    )
    await _churn(clusters, ctl, "c")
    assert ctl.per_key_state() == dict.fromkeys(ctl.per_key_state(), 0)
