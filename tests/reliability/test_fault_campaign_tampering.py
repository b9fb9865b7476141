"""Host copies an administrator tampers with are repaired within one resync period, or left
alone once they are no longer ours (SPEC §3 Ownership, §6 "out-of-band edits are repaired").

Removing the ``managed-by`` label makes a copy foreign by the ownership rule: the syncer never
writes or deletes it again, and the virtual policy, which can no longer be synced under that
host name, gets the same ``HostNameCollision`` Warning as for any foreign object holding its
name (tests/integration/test_host_name_collisions_keep_the_first_owner.py). Restoring the label
hands the copy back, and it is repaired.
"""

from __future__ import annotations

import copy

from tests.support.harness import (
    HOST_NAMESPACE,
    NETPOLS,
    Clusters,
    create,
    events_for,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)
from translate import markers

RESYNC = 2.0
"""The syncers' resync period here; every repair must happen within it (plus scheduling)."""
WITHIN = RESYNC + 3.0
HOST_NAME = "deny-x-default-x-vc"


def _deny_all() -> dict[str, object]:
    return network_policy("deny", policy_types=["Ingress", "Egress"])


def _tamper(clusters: Clusters, change: object) -> dict[str, object]:
    obj = clusters.host.store.get(NETPOLS, HOST_NAMESPACE, HOST_NAME)
    assert callable(change)
    change(obj)
    return clusters.host.store.update(obj)


def _widen(obj: dict[str, object]) -> None:
    spec = obj["spec"]
    assert isinstance(spec, dict)
    spec["ingress"] = [{}]
    spec["egress"] = [{}]


def _unmark(obj: dict[str, object]) -> None:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    del meta["labels"][markers.MANAGED_BY]


async def test_a_widened_copy_is_reverted(clusters: Clusters) -> None:
    """A default-deny copy edited on the host to allow everything is put back."""
    create(clusters.virtual, _deny_all())
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        _tamper(clusters, _widen)
        await wait_converged(clusters, timeout=WITHIN)


async def test_a_widened_copy_is_reverted_even_if_its_event_is_lost(clusters: Clusters) -> None:
    """The edit happens while the syncer's host watch is stalled (no event reaches it): the
    resync still finds and reverts it."""
    create(clusters.virtual, _deny_all())
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        assert clusters.host.faults.stall_watches(NETPOLS) >= 1
        _tamper(clusters, _widen)
        await wait_converged(clusters, timeout=WITHIN)


async def test_a_deleted_copy_is_recreated(clusters: Clusters) -> None:
    """A copy deleted on the host comes back."""
    create(clusters.virtual, _deny_all())
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        clusters.host.store.delete(NETPOLS, HOST_NAMESPACE, HOST_NAME)
        await wait_converged(clusters, timeout=WITHIN)


async def test_a_copy_without_its_marker_is_foreign_and_reported(clusters: Clusters) -> None:
    """With ``managed-by`` removed the copy is never written or deleted again, not even when
    the virtual policy goes; the virtual policy gets a HostNameCollision Warning."""
    virtual = create(clusters.virtual, _deny_all())
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        unmarked = _tamper(clusters, _unmark)
        await wait_for(
            lambda: events_for(clusters.virtual, virtual, "HostNameCollision"),
            timeout=WITHIN,
            message="no HostNameCollision event for the policy whose copy became foreign",
        )
        clusters.virtual.store.delete(NETPOLS, "default", "deny")
        await wait_for(lambda: not clusters.virtual.store.list(NETPOLS), timeout=5)
        await _wait(RESYNC + 1.0)
        current = clusters.host.store.find(NETPOLS, HOST_NAMESPACE, HOST_NAME)
    assert current is not None, "the foreign object was deleted"
    assert current["metadata"]["resourceVersion"] == unmarked["metadata"]["resourceVersion"]
    assert not host_copies(clusters.host)


async def test_restoring_the_marker_hands_the_copy_back(clusters: Clusters) -> None:
    """Once the label is back the object is ours again and edits made meanwhile are repaired."""
    create(clusters.virtual, _deny_all())
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        unmarked = _tamper(clusters, _unmark)
        restored = copy.deepcopy(unmarked)
        _widen(restored)
        restored["metadata"]["labels"][markers.MANAGED_BY] = "vc"
        await _wait(0.5)
        clusters.host.store.update(restored)
        await wait_converged(clusters, timeout=WITHIN)


async def _wait(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
