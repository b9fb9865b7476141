"""A dropped watch resumes from its resourceVersion without a LIST; only 410 Gone relists; and
neither causes a duplicate write (issue 4, item 5; SPEC §6 Informers)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import (
    Clusters,
    Run,
    create,
    edit,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)

NETPOLS = "networkpolicies"


async def _restarts(run: Run, cluster: str, reason: str) -> float:
    return (await run.metrics()).value(
        "netpol_syncer_watch_restarts_total", cluster=cluster, reason=reason
    )


def _tighten(obj: dict[str, Any]) -> None:
    obj["spec"] = {"podSelector": {"matchLabels": {"app": "tight"}}}


@pytest.mark.parametrize("graceful", [False, True], ids=["broken", "ended"])
async def test_a_dropped_watch_resumes_without_a_relist(clusters: Clusters, graceful: bool) -> None:
    """After both servers drop every watch, changes on either side still arrive, each cluster
    was listed exactly once, watches were reopened, and each change cost exactly one write."""
    for name in ("a", "b", "c"):
        create(clusters.virtual, network_policy(name))
    async with clusters.run() as run:
        await wait_converged(clusters)
        watches = {
            "virtual": clusters.virtual.counters["watch", NETPOLS],
            "host": clusters.host.counters["watch", NETPOLS],
        }
        assert clusters.virtual.faults.drop_watches(NETPOLS, graceful=graceful) == 1
        assert clusters.host.faults.drop_watches(NETPOLS, graceful=graceful) == 1

        edit(clusters.virtual, "default", "a", _tighten)
        create(clusters.virtual, network_policy("d"))
        clusters.virtual.store.delete(NETPOLS, "default", "b")
        clusters.host.store.delete(NETPOLS, "vcluster-vc", "c-x-default-x-vc")
        await wait_converged(clusters)

        assert clusters.virtual.counters["list", NETPOLS] == 1
        assert clusters.host.counters["list", NETPOLS] == 1
        assert clusters.virtual.counters["watch", NETPOLS] > watches["virtual"]
        assert clusters.host.counters["watch", NETPOLS] > watches["host"]
        assert await _restarts(run, "virtual", "gone") == 0
        assert await _restarts(run, "host", "gone") == 0
    # a, b, c created; a updated; d and c (re)created; b deleted.
    assert writes(clusters.host, "create") == 5
    assert writes(clusters.host, "update") == 1
    assert writes(clusters.host, "delete") == 1


@pytest.mark.parametrize("cluster", ["virtual", "host"])
async def test_a_410_relists_once_and_catches_up(clusters: Clusters, cluster: str) -> None:
    """With the history compacted, the reconnecting watch gets 410 Gone: that cluster is listed
    exactly once more, changes missed in between (deletions too) are seen, no write repeats."""
    for name in ("a", "b", "c"):
        create(clusters.virtual, network_policy(name))
    async with clusters.run() as run:
        await wait_converged(clusters)
        sim = clusters.virtual if cluster == "virtual" else clusters.host
        other = clusters.host if cluster == "virtual" else clusters.virtual
        # Missed while away: nothing of these is in the (compacted) history the watch could
        # resume from, so only the relist can reveal them.
        if cluster == "virtual":
            clusters.virtual.store.delete(NETPOLS, "default", "b")
            create(clusters.virtual, network_policy("d"))
        else:
            clusters.host.store.delete(NETPOLS, "vcluster-vc", "b-x-default-x-vc")
        sim.faults.compact(NETPOLS)
        sim.faults.drop_watches(NETPOLS)

        await wait_for(lambda: _restarts(run, cluster, "gone"), timeout=20)
        await wait_converged(clusters)
        assert sim.counters["list", NETPOLS] == 2
        assert other.counters["list", NETPOLS] == 1
        assert await _restarts(run, cluster, "gone") == 1

    creates = 3 + 1  # a, b, c, then d (virtual) or b again (host)
    deletes = 1 if cluster == "virtual" else 0
    assert writes(clusters.host, "create") == creates
    assert writes(clusters.host, "delete") == deletes
    assert writes(clusters.host, "update") == 0
    assert len(host_copies(clusters.host)) == 3
