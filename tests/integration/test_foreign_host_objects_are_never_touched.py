"""Host policies this syncer does not own are never written or deleted (SPEC §3 Ownership)."""

from __future__ import annotations

import copy
from typing import Any

import translate
from tests.support.harness import (
    HOST_NAMESPACE,
    TARGET,
    VCLUSTER,
    Clusters,
    create,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)


def _copy_for(name: str, target: translate.Target) -> dict[str, Any]:
    virtual = network_policy(name)
    virtual["metadata"]["uid"] = "0f0f0f0f-0000-4000-8000-000000000000"
    return dict(translate.to_host(virtual, target))  # type: ignore[arg-type]


def _foreign() -> dict[str, dict[str, Any]]:
    """Objects in the host that must survive everything the syncer does, by description."""
    hand_written = network_policy("hand-written", HOST_NAMESPACE)
    other_vcluster = _copy_for("web", translate.Target("other", HOST_NAMESPACE))
    impostor = _copy_for("web", TARGET)
    impostor["metadata"]["name"] = "impostor"  # our marker, annotations point elsewhere
    wrong_namespace = _copy_for("db", translate.Target(VCLUSTER, "elsewhere"))
    return {
        "no marker": hand_written,
        "another vCluster's marker": other_vcluster,
        "annotations that do not map back to the name": impostor,
        "a different namespace": wrong_namespace,
    }


async def test_foreign_objects_survive_sync_deletes_and_restarts(clusters: Clusters) -> None:
    """Syncing, deleting every virtual policy, editing the foreign objects and restarting leave
    every foreign object at the version it had, while a true orphan of ours is collected."""
    stored = {what: clusters.host.store.create(obj) for what, obj in _foreign().items()}
    orphan = clusters.host.store.create(_copy_for("orphan", TARGET))
    create(clusters.virtual, network_policy("web"))
    create(clusters.virtual, network_policy("db"))

    async with clusters.run():
        await wait_converged(clusters)
        assert orphan["metadata"]["name"] not in host_copies(clusters.host)
        for obj in (network_policy("web"), network_policy("db")):
            clusters.virtual.store.delete("networkpolicies", "default", obj["metadata"]["name"])
        await wait_for(lambda: not host_copies(clusters.host), timeout=20)
        # Host events for the foreign objects reach the syncer; it must still leave them alone.
        for what, obj in list(stored.items()):
            edited = copy.deepcopy(obj)
            edited["spec"]["podSelector"] = {}
            stored[what] = clusters.host.store.update(edited)

    create(clusters.virtual, network_policy("web"))
    async with clusters.run():
        await wait_converged(clusters)

    for what, obj in stored.items():
        meta = obj["metadata"]
        current = clusters.host.store.find("networkpolicies", meta["namespace"], meta["name"])
        assert current is not None, f"{what}: deleted"
        assert current["metadata"]["resourceVersion"] == meta["resourceVersion"], f"{what}: written"
