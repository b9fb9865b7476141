"""An unreachable virtual API server never causes a delete; syncing resumes when it returns
(issue 4, item 4; SPEC §6 "A virtual API outage deletes nothing")."""

from __future__ import annotations

import asyncio

from tests.support.harness import (
    Clusters,
    DeleteWatchdog,
    Outage,
    create,
    host_copies,
    network_policy,
    wait_converged,
    writes,
)

OUTAGE = 2.5
"""Seconds the virtual server stays down: several informer reconnect attempts."""


async def test_an_outage_before_start_keeps_the_syncer_unready_and_the_host_untouched(
    clusters: Clusters,
) -> None:
    """Started while the virtual server is down: /readyz is 503, nothing is deleted; when the
    server returns, what changed meanwhile is synced."""
    for name in ("a", "b"):
        create(clusters.virtual, network_policy(name))
    async with clusters.run():
        await wait_converged(clusters)
    clusters.host.counters.reset()

    watchdog = DeleteWatchdog(clusters)
    async with Outage(clusters.virtual) as outage:
        clusters.virtual.store.delete("networkpolicies", "default", "a")
        create(clusters.virtual, network_policy("c"))
        async with clusters.run() as run:
            await asyncio.sleep(OUTAGE)  # give a buggy syncer the chance to delete
            assert await run.probe("/readyz") == 503
            assert await run.probe("/healthz") == 200
            assert set(host_copies(clusters.host)) == {"a-x-default-x-vc", "b-x-default-x-vc"}
            assert writes(clusters.host) == 0

            await outage.end()
            await run.wait_ready()
            await wait_converged(clusters)
    assert writes(clusters.host, "delete") == 1
    assert writes(clusters.host, "create") == 1
    watchdog.assert_clean()


async def test_an_outage_mid_run_deletes_nothing_and_resumes(clusters: Clusters) -> None:
    """A running syncer whose virtual server goes away keeps every host copy; changes made
    during the outage are synced once the server is back, without a relist."""
    for name in ("a", "b", "c"):
        create(clusters.virtual, network_policy(name))
    watchdog = DeleteWatchdog(clusters)
    async with clusters.run() as run:
        await wait_converged(clusters)
        clusters.host.counters.reset()
        async with clusters.virtual.outage():
            clusters.virtual.store.delete("networkpolicies", "default", "a")
            clusters.virtual.store.delete("networkpolicies", "default", "b")
            create(clusters.virtual, network_policy("d"))
            await asyncio.sleep(OUTAGE)
            assert len(host_copies(clusters.host)) == 3
            assert writes(clusters.host) == 0
            assert await run.probe("/readyz") == 200  # caches stay complete, just stale
        await wait_converged(clusters)
        assert set(host_copies(clusters.host)) == {"c-x-default-x-vc", "d-x-default-x-vc"}
        assert writes(clusters.host, "delete") == 2
        assert writes(clusters.host, "create") == 1
        assert clusters.virtual.counters["list", "networkpolicies"] == 1
        restarts = (await run.metrics()).value(
            "netpol_syncer_watch_restarts_total", cluster="virtual", reason="error"
        )
        assert restarts >= 1
    watchdog.assert_clean()
