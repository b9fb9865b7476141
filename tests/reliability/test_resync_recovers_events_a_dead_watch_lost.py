"""A watch on a half-open connection stays open and silent for minutes (until the client's read
timeout); a resync must still find every change it swallowed, on either side, within one
period (SPEC §6: out-of-band edits are repaired; every virtual change converges)."""

from __future__ import annotations

from tests.support.harness import (
    Clusters,
    create,
    edit,
    network_policy,
    wait_converged,
)

RESYNC = 2.0
WITHIN = RESYNC + 3.0
NETPOLS = "networkpolicies"


def _allow_port(port: int) -> object:
    def change(obj: dict[str, object]) -> None:
        obj["spec"] = {"podSelector": {}, "ingress": [{"ports": [{"port": port}]}]}

    return change


async def test_a_tenant_change_behind_a_stalled_virtual_watch_is_synced(
    clusters: Clusters,
) -> None:
    """The virtual watch stalls, the tenant edits and creates policies: the host follows
    within one resync period."""
    create(clusters.virtual, network_policy("web"))
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        assert clusters.virtual.faults.stall_watches(NETPOLS) >= 1
        edit(clusters.virtual, "default", "web", _allow_port(8443))  # type: ignore[arg-type]
        create(clusters.virtual, network_policy("db"))
        await wait_converged(clusters, timeout=WITHIN)


async def test_a_host_edit_behind_a_stalled_host_watch_is_reverted(clusters: Clusters) -> None:
    """The host watch stalls and an admin edits a copy: the resync reverts it."""
    create(clusters.virtual, network_policy("web", policy_types=["Ingress"]))
    async with clusters.run(resync_period=RESYNC):
        await wait_converged(clusters)
        assert clusters.host.faults.stall_watches(NETPOLS) >= 1
        obj = clusters.host.store.get(NETPOLS, "vcluster-vc", "web-x-default-x-vc")
        obj["spec"]["ingress"] = [{}]
        clusters.host.store.update(obj)
        await wait_converged(clusters, timeout=WITHIN)
