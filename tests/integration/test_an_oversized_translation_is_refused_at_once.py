"""A tenant policy whose translation exceeds the host API's request limit (413
RequestEntityTooLarge) is a permanent failure (issue 10, item 8): one write, a ``SyncError``
Warning event at once, ``HostRejected`` counted, the last good copy kept, no retries."""

from __future__ import annotations

import asyncio
import json

from kubesim.server import MAX_BODY
from tests.support.harness import (
    NETPOLS,
    Clusters,
    create,
    edit,
    events_for,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

HOST = "big-x-default-x-vc"

PEERS = 40_000
"""``podSelector: {}`` peers: ~0.8 MB in the virtual cluster (under its limit), over 4 MB once
each peer is scoped to this vCluster's pods on the host."""


def _oversized(obj: dict[str, object]) -> None:
    obj["spec"] = {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}] * PEERS}]}


async def test_a_413_is_reported_at_once_and_not_retried(clusters: Clusters) -> None:
    """The update of a copy grown past 3 MiB gets 413: within seconds a SyncError event
    names the reason, exactly one update was sent, the old copy stays, the syncer runs on."""
    create(clusters.virtual, network_policy("big"))
    create(clusters.virtual, network_policy("other"))
    async with clusters.run() as run:
        await wait_converged(clusters)
        good = host_copies(clusters.host)[HOST]
        virtual = edit(clusters.virtual, "default", "big", _oversized)
        assert len(json.dumps(virtual)) < MAX_BODY
        events = await wait_for(
            lambda: events_for(clusters.virtual, virtual, "SyncError"),
            timeout=10,
            message="no SyncError event for the oversized policy",
        )
        assert events[0]["type"] == "Warning"
        assert "RequestEntityTooLarge" in events[0]["message"], events[0]["message"]
        await asyncio.sleep(1.0)  # time for a wrongly scheduled retry to show
        responses = clusters.host.counters.responses()
        assert responses[("update", NETPOLS, 413)] == 1
        assert host_copies(clusters.host)[HOST] == good
        samples = await run.metrics()
        assert samples.value("netpol_syncer_errors_total", reason="HostRejected") == 1
        assert samples.value("netpol_syncer_queue_retries_total") == 0
        assert await run.probe("/healthz") == 200

        edit(clusters.virtual, "default", "other", lambda o: o["spec"].update(ingress=[{}]))
        edit(clusters.virtual, "default", "big", lambda o: o["spec"].update(ingress=[{}]))
        await wait_converged(clusters)
