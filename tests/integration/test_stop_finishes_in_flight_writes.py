"""Stopping the syncer (what SIGTERM does) takes no new work but lets host writes already in
flight finish, then exits 0 (SPEC §6 "SIGTERM: stop taking work, finish in-flight writes")."""

from __future__ import annotations

import time

from tests.support.harness import (
    Clusters,
    create,
    host_copies,
    network_policy,
    wait_for,
)

SLOW_WRITE = 1.5
"""Seconds each host create is held by the server: long enough to be caught in flight."""


async def test_writes_in_flight_complete_before_the_syncer_exits(clusters: Clusters) -> None:
    """Creates the server is still processing when the stop arrives land on the host (idle
    workers leaving must not abort the busy ones), and the syncer exits 0 within 5 s."""
    clusters.host.faults.delay(SLOW_WRITE, verb="create", resource="networkpolicies")
    for i in range(2):
        create(clusters.virtual, network_policy(f"p{i}"))
    async with clusters.run(workers=4) as run:  # two workers busy, two idle
        await wait_for(lambda: clusters.host.counters["create", "networkpolicies"] == 2, timeout=20)
        stopping = time.monotonic()
        assert await run.stop() == 0
        took = time.monotonic() - stopping
    assert took < 5.0, f"took {took:.1f}s to stop"
    assert len(host_copies(clusters.host)) == 2, "the two writes in flight did not finish"
    assert clusters.host.counters["create", "networkpolicies"] == 2
