"""A stale virtual cache never deletes a live host copy (issue 10, item 2; SPEC §6).

The virtual watch of the syncer under test is stalled (kubesim keeps the stream open and
silent, like a half-open connection) before policies it never sees are created, together with
the host copies another replica made for them. Neither a resync nor a leader takeover may
delete those copies: a delete needs the virtual API itself to answer 404, and a new leader
writes only from caches proven current after its win.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import patches
from syncer.commands import running
from tests.support.harness import (
    HOST_NAMESPACE,
    NETPOLS,
    TARGET,
    VCLUSTER,
    Clusters,
    DeleteWatchdog,
    create,
    edit,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)

LEASE = "vc-netpol-syncer"
LATE = ("late-a", "late-b", "late-c")


def _copy_made_elsewhere(clusters: Clusters, name: str) -> None:
    """A virtual policy and the host copy another syncer replica made for it."""
    create(clusters.virtual, network_policy(name, pod_selector={"matchLabels": {"a": name}}))
    _write_copy_elsewhere(clusters, name)


def _write_copy_elsewhere(clusters: Clusters, name: str) -> None:
    """Create or update the host copy of ``name`` as another replica would."""
    virtual = clusters.virtual.store.get(NETPOLS, "default", name)
    desired = dict(running.desire_for(TARGET, patches.PatchList())(virtual))  # type: ignore[arg-type]
    existing = clusters.host.store.find(NETPOLS, HOST_NAMESPACE, desired["metadata"]["name"])
    if existing is None:
        clusters.host.store.create(desired)
    else:
        desired["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
        clusters.host.store.update(desired)


def _stall_virtual_watch(clusters: Clusters) -> None:
    assert clusters.virtual.faults.stall_watches(NETPOLS) == 1


async def test_a_resync_keeps_copies_of_policies_the_cache_never_saw(clusters: Clusters) -> None:
    """The orphan check of a resync asks the virtual API before deleting: copies of live
    policies missing from a stalled cache stay, and nothing is deleted."""
    watchdog = DeleteWatchdog(clusters)
    async with clusters.run(resync_period=0.2) as run:
        await run.wait_ready()
        _stall_virtual_watch(clusters)
        for name in LATE:
            _copy_made_elsewhere(clusters, name)
        controller = run.syncer.controller
        assert controller is not None
        await wait_for(lambda: len(controller.host) == len(LATE))
        await asyncio.sleep(1.0)  # five resyncs, each enqueueing the seemingly orphaned owners
        assert sorted(host_copies(clusters.host)) == [f"{n}-x-default-x-{VCLUSTER}" for n in LATE]
        assert writes(clusters.host, "delete") == 0
        watchdog.assert_clean()


async def test_a_failed_confirmation_keeps_the_copies(clusters: Clusters) -> None:
    """When the virtual API cannot answer (an outage), a copy that looks orphaned in a stale
    cache is kept: no answer is no proof."""
    watchdog = DeleteWatchdog(clusters)
    async with clusters.run(resync_period=0.2) as run:
        await run.wait_ready()
        _stall_virtual_watch(clusters)
        for name in LATE:
            _copy_made_elsewhere(clusters, name)
        controller = run.syncer.controller
        assert controller is not None
        await wait_for(lambda: len(controller.host) == len(LATE))
        async with clusters.virtual.outage():
            await asyncio.sleep(1.0)
        assert len(host_copies(clusters.host)) == len(LATE)
        assert writes(clusters.host, "delete") == 0
        watchdog.assert_clean()


@contextlib.asynccontextmanager
async def _held_lease(clusters: Clusters) -> AsyncIterator[asyncio.Event]:
    """A lease held and renewed by another replica until the yielded event is set."""
    stop = asyncio.Event()

    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    clusters.host.store.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LEASE, "namespace": HOST_NAMESPACE},
            "spec": {"holderIdentity": "old-leader", "leaseDurationSeconds": 2, "renewTime": now()},
        }
    )

    async def renew() -> None:
        while not stop.is_set():
            current = clusters.host.store.get("leases", HOST_NAMESPACE, LEASE)
            current["spec"]["renewTime"] = now()
            clusters.host.store.update(current)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    task = asyncio.create_task(renew())
    try:
        yield stop
    finally:
        stop.set()
        await task


async def test_a_new_leader_with_a_stalled_watch_writes_nothing_stale(
    clusters: Clusters,
) -> None:
    """A standby whose virtual watch went silent takes the lease over; it lists again before
    writing, so it neither deletes the copies the old leader made meanwhile nor widens a copy
    back to a version of its policy the tenant has since narrowed: it has nothing to write."""
    watchdog = DeleteWatchdog(clusters)
    create(clusters.virtual, network_policy("early", ingress=[{}]))
    _write_copy_elsewhere(clusters, "early")
    async with (
        _held_lease(clusters) as old_leader_gone,
        clusters.run(
            leader_elect=True,
            leader_elect_lease_duration=1.5,
            leader_elect_renew_deadline=1.0,
            leader_elect_retry_period=0.2,
        ) as standby,
    ):
        await standby.wait_ready()
        _stall_virtual_watch(clusters)
        edit(clusters.virtual, "default", "early", lambda obj: obj["spec"].pop("ingress"))
        _write_copy_elsewhere(clusters, "early")
        for name in LATE:
            _copy_made_elsewhere(clusters, name)
        controller = standby.syncer.controller
        assert controller is not None
        await wait_for(lambda: len(controller.host) == len(LATE) + 1)
        assert not controller.started.is_set()
        old_leader_gone.set()
        await wait_for(controller.started.is_set, timeout=10, message="never took over")
        await wait_converged(clusters, timeout=5)
        await asyncio.sleep(0.5)
        await wait_converged(clusters, timeout=1)
        assert writes(clusters.host) == 0
        watchdog.assert_clean()
