"""Two virtual policies that translate to one host name: the first owner keeps it, the other is
told with a ``HostNameCollision`` event, and takes the name over once the owner is gone
(issue 4, item 6; SPEC §6)."""

from __future__ import annotations

from typing import Any

from tests.support.harness import (
    HOST_NAMESPACE,
    Clusters,
    Run,
    create,
    events_for,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

SHARED = "a-x-b-x-c-x-vc"
"""``a-x-b`` in namespace ``c`` and ``a`` in namespace ``b-x-c`` both become this."""
OBJECT_NAME = "vcluster.loft.sh/object-name"
OBJECT_NAMESPACE = "vcluster.loft.sh/object-namespace"


def _owner(clusters: Clusters) -> tuple[str, str] | None:
    copy = host_copies(clusters.host).get(SHARED)
    if copy is None:
        return None
    annotations = copy["metadata"]["annotations"]
    return annotations[OBJECT_NAMESPACE], annotations[OBJECT_NAME]


async def _collisions(run: Run) -> float:
    return (await run.metrics()).value("netpol_syncer_errors_total", reason="HostNameCollision")


def _assert_collision_event(event: dict[str, Any], virtual: dict[str, Any]) -> None:
    assert event["type"] == "Warning"
    assert event["reason"] == "HostNameCollision"
    assert event["involvedObject"]["uid"] == virtual["metadata"]["uid"]
    assert event["involvedObject"]["name"] == virtual["metadata"]["name"]
    assert event["involvedObject"]["namespace"] == virtual["metadata"]["namespace"]
    assert SHARED in event["message"]


async def test_the_first_owner_keeps_the_name_and_the_other_takes_it_over(
    clusters: Clusters,
) -> None:
    """The second policy gets a HostNameCollision event and the owner's copy is not written;
    deleting the owner hands the host name to the second policy."""
    create(clusters.virtual, network_policy("a-x-b", "c", labels={"first": "yes"}))
    async with clusters.run() as run:
        await wait_for(lambda: _owner(clusters) == ("c", "a-x-b"), timeout=20)
        owners_copy = host_copies(clusters.host)[SHARED]

        second = create(clusters.virtual, network_policy("a", "b-x-c", labels={"second": "yes"}))
        events = await wait_for(
            lambda: events_for(clusters.virtual, second, "HostNameCollision"), timeout=20
        )
        _assert_collision_event(events[0], second)
        assert await _collisions(run) == 1
        assert host_copies(clusters.host)[SHARED] == owners_copy
        assert not events_for(clusters.virtual, network_policy("a-x-b", "c"))

        clusters.virtual.store.delete("networkpolicies", "c", "a-x-b")
        await wait_for(lambda: _owner(clusters) == ("b-x-c", "a"), timeout=20)
        await wait_converged(clusters)
        assert "first" not in host_copies(clusters.host)[SHARED]["metadata"]["labels"]


async def test_an_unowned_object_holding_the_name_is_left_alone(clusters: Clusters) -> None:
    """A host policy without our marker that has the name a virtual policy needs is never
    overwritten; the virtual policy gets a HostNameCollision event instead."""
    squatter = clusters.host.store.create(network_policy("web-x-default-x-vc", HOST_NAMESPACE))
    async with clusters.run() as run:
        virtual = create(clusters.virtual, network_policy("web"))
        events = await wait_for(
            lambda: events_for(clusters.virtual, virtual, "HostNameCollision"), timeout=20
        )
        assert events[0]["involvedObject"]["uid"] == virtual["metadata"]["uid"]
        # At least once: a second reconcile of the key (the owner Service's first list
        # re-enqueues every key) refuses, and counts, the same collision again.
        assert await _collisions(run) >= 1
    current = clusters.host.store.get("networkpolicies", HOST_NAMESPACE, "web-x-default-x-vc")
    assert current["metadata"]["resourceVersion"] == squatter["metadata"]["resourceVersion"]
