"""``/metrics``, ``/healthz`` and ``/readyz`` of a running syncer (issue 4, item 7; SPEC §7)."""

from __future__ import annotations

from tests.support.harness import (
    Clusters,
    Run,
    create,
    network_policy,
    wait_converged,
    wait_for,
)

FAMILIES = (
    "netpol_syncer_reconcile",
    "netpol_syncer_reconcile_duration_seconds",
    "netpol_syncer_sync_latency_seconds",
    "netpol_syncer_queue_depth",
    "netpol_syncer_queue_retries",
    "netpol_syncer_watch_restarts",
    "netpol_syncer_api_requests",
    "netpol_syncer_synced_policies",
    "netpol_syncer_drift_repairs",
    "netpol_syncer_errors",
    "netpol_syncer_leader",
    "netpol_syncer_build_info",
)
"""SPEC §7's metric set, as ``prometheus_client.parser`` names the families."""


async def _synced_policies(run: Run) -> float:
    return (await run.metrics()).value("netpol_syncer_synced_policies")


async def test_readyz_waits_for_the_initial_lists_and_healthz_passes(clusters: Clusters) -> None:
    """/readyz answers 503 while the virtual LIST is held back and 200 once it is done;
    /healthz answers 200 throughout."""
    clusters.virtual.faults.delay(2.0, verb="list", resource="networkpolicies", count=1)
    async with clusters.run() as run:
        assert await run.probe("/readyz") == 503
        assert await run.probe("/healthz") == 200
        synced = await run.metrics()
        assert synced.value("netpol_syncer_informer_synced", cluster="virtual") == 0
        await run.wait_ready()
        assert await run.probe("/healthz") == 200
        synced = await run.metrics()
        assert synced.value("netpol_syncer_informer_synced", cluster="virtual") == 1
        assert synced.value("netpol_syncer_informer_synced", cluster="host") == 1


async def test_metrics_describe_what_was_synced(clusters: Clusters) -> None:
    """Every metric family of SPEC §7 is exposed, and the counts match the work done."""
    for name in ("a", "b", "c"):
        create(clusters.virtual, network_policy(name))
    async with clusters.run() as run:
        await wait_converged(clusters)
        await wait_for(lambda: _synced_policies(run), timeout=10)
        samples = await run.metrics()
        missing = [f for f in FAMILIES if f not in samples.families]
        assert not missing, f"missing metric families: {missing}"
        assert samples.value("netpol_syncer_reconcile_total", result="created") == 3
        assert samples.value("netpol_syncer_synced_policies") == 3
        assert samples.value("netpol_syncer_virtual_policies") == 3
        assert samples.value("netpol_syncer_host_policies") == 3
        assert samples.value("netpol_syncer_leader") == 1
        assert (
            samples.value(
                "netpol_syncer_api_requests_total", cluster="host", verb="create", code="201"
            )
            == 3
        )
        assert (
            samples.value("netpol_syncer_api_requests_total", cluster="virtual", verb="list") == 1
        )
        assert samples.value("netpol_syncer_sync_latency_seconds_count") == 3
        assert samples.value("netpol_syncer_errors_total") == 0
