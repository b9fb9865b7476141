"""Copies whose virtual object vanished while the syncer was down are deleted, but only once
both informers finished their initial list (issue 4, item 3; SPEC §6)."""

from __future__ import annotations

import pytest

from tests.support.harness import (
    Clusters,
    DeleteWatchdog,
    Run,
    create,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)

LIST_DELAY = 3.0


async def _synced(run: Run, cluster: str) -> bool:
    return (await run.metrics()).value("netpol_syncer_informer_synced", cluster=cluster) == 1


@pytest.mark.parametrize("slow", ["virtual", "host"])
async def test_orphans_wait_for_both_initial_lists(clusters: Clusters, slow: str) -> None:
    """While one cluster's LIST is held back nothing is written and /readyz says 503; once it
    completes the orphan is deleted and the other copies are left exactly as they were."""
    for name in ("keep", "gone", "also-keep"):
        create(clusters.virtual, network_policy(name))
    async with clusters.run():
        await wait_converged(clusters)
    before = host_copies(clusters.host)
    clusters.virtual.store.delete("networkpolicies", "default", "gone")
    clusters.host.counters.reset()

    sim = clusters.virtual if slow == "virtual" else clusters.host
    fast = "host" if slow == "virtual" else "virtual"
    watchdog = DeleteWatchdog(clusters)
    sim.faults.delay(LIST_DELAY, verb="list", resource="networkpolicies", count=1)
    async with clusters.run() as run:
        await wait_for(lambda: _synced(run, fast), timeout=10)
        assert not await _synced(run, slow)
        assert await run.probe("/readyz") == 503
        assert await run.probe("/healthz") == 200
        assert "gone-x-default-x-vc" in host_copies(clusters.host)
        assert writes(clusters.host) == 0

        await run.wait_ready()
        await wait_for(lambda: "gone-x-default-x-vc" not in host_copies(clusters.host), timeout=20)
        await wait_converged(clusters)

    after = host_copies(clusters.host)
    for name in ("keep-x-default-x-vc", "also-keep-x-default-x-vc"):
        assert (
            after[name]["metadata"]["resourceVersion"]
            == before[name]["metadata"]["resourceVersion"]
        )
    assert writes(clusters.host, "delete") == 1
    assert writes(clusters.host) == 1
    watchdog.assert_clean()
    assert watchdog.checked == 1
