"""After a 20 s outage of either API the host converges soon after the API is back (issue 10,
item 7; the goal is 10 s after any fault ends, the fake-clock proof of the backoff bounds is in
tests/syncer/queueing/test_recovery_follows_an_outage_within_seconds.py).

The measured recovery time is printed and recorded as the ``recovery_seconds`` property of the
test (``--junitxml``); the assertion only bounds it by the harness's generous timeout, as CI
machines stall. Before the fix, a 20 s virtual outage took up to 25 s to recover from."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.support.harness import (
    NETPOLS,
    Clusters,
    DeleteWatchdog,
    Outage,
    create,
    edit,
    network_policy,
    wait_converged,
)

OUTAGE = 20.0
POLICIES = 40


def _change_everything(clusters: Clusters) -> None:
    """Edit a quarter, delete a quarter, add a quarter of the policies."""
    for i in range(POLICIES // 4):
        edit(clusters.virtual, "default", f"p{i}", lambda o: o["spec"].update(ingress=[{}]))
        clusters.virtual.store.delete(NETPOLS, "default", f"p{POLICIES // 4 + i}")
        create(clusters.virtual, network_policy(f"new{i}"))


@pytest.mark.slow
@pytest.mark.parametrize("side", ["virtual", "host"])
async def test_a_20s_outage_is_recovered_from_within_seconds(
    clusters: Clusters, side: str, record_property: Callable[[str, object], None]
) -> None:
    """Policies changed during a 20 s outage of one API are synced soon after it returns,
    and nothing is deleted while its source exists."""
    for i in range(POLICIES):
        create(clusters.virtual, network_policy(f"p{i}", labels={"n": str(i)}))
    watchdog = DeleteWatchdog(clusters)
    down = clusters.virtual if side == "virtual" else clusters.host
    async with clusters.run():
        await wait_converged(clusters)
        async with Outage(down) as outage:
            _change_everything(clusters)
            await asyncio.sleep(OUTAGE)
            await outage.end()
            back = time.monotonic()
            await wait_converged(clusters)
            recovery = time.monotonic() - back
    record_property("recovery_seconds", round(recovery, 2))
    print(f"\n{side} outage of {OUTAGE:g}s: converged {recovery:.2f}s after the API returned")
    watchdog.assert_clean()
