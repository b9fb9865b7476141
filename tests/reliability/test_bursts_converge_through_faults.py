"""Bursts of virtual changes converge through host latency, repeated watch drops and a host API
restart, without duplicate creates (SPEC §6)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tests.support.harness import (
    Clusters,
    DeleteWatchdog,
    create,
    edit,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)

NETPOLS = "networkpolicies"


@contextlib.asynccontextmanager
async def _repeatedly(action: Callable[[], Awaitable[object]], every: float) -> AsyncIterator[None]:
    """Run ``action`` every ``every`` seconds in the background while inside the block."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            await action()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _set_port(port: int) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        obj["spec"]["ingress"] = [{"ports": [{"port": port}]}]

    return change


async def _burst(clusters: Clusters, changes: int, seed: int, pause: float = 0.001) -> None:
    """``changes`` creates, updates and deletes, ``pause`` seconds apart."""
    rng = random.Random(seed)
    alive: list[str] = []
    for i in range(changes):
        roll = rng.random()
        if alive and roll < 0.25:
            name = rng.choice(alive)
            edit(clusters.virtual, "default", name, _set_port(rng.randint(1, 65535)))
        elif alive and roll < 0.4:
            name = alive.pop(rng.randrange(len(alive)))
            clusters.virtual.store.delete(NETPOLS, "default", name)
        else:
            name = f"p{i}"
            create(clusters.virtual, network_policy(name, labels={"n": str(i)}))
            alive.append(name)
        await asyncio.sleep(pause)


def _assert_no_duplicate_creates(clusters: Clusters) -> None:
    """No create found its object already there (which a lost write-through would cause)."""
    responses = clusters.host.counters.responses()
    assert responses.get(("create", NETPOLS, 409), 0) == 0, responses


async def test_host_latency_slows_but_does_not_break_the_sync(clusters: Clusters) -> None:
    """With 200 ms added to every host request, a burst still converges with one create each."""
    clusters.host.faults.delay(0.2, resource=NETPOLS)
    async with clusters.run(workers=8):
        await _burst(clusters, 60, seed=1)
        await wait_converged(clusters, timeout=30)
    _assert_no_duplicate_creates(clusters)


async def test_repeated_watch_drops_during_a_burst_of_200_changes(clusters: Clusters) -> None:
    """Both servers drop every watch every 50 ms while 200 changes arrive: the host still ends
    equal to the translation of the final virtual state, with no duplicate create and no
    relist."""

    drops = 0

    async def drop() -> None:
        nonlocal drops
        drops += 1
        clusters.virtual.faults.drop_watches(NETPOLS, graceful=drops % 2 == 0)
        clusters.host.faults.drop_watches(NETPOLS, graceful=drops % 3 == 0)

    watchdog = DeleteWatchdog(clusters)
    async with clusters.run() as run:
        await run.wait_ready()
        async with _repeatedly(drop, every=0.05):
            await _burst(clusters, 200, seed=2, pause=0.015)
        await wait_converged(clusters, timeout=30)
        for cluster in ("virtual", "host"):
            restarts = (await run.metrics()).value(
                "netpol_syncer_watch_restarts_total", cluster=cluster
            )
            assert restarts >= 3, f"{cluster} watches were dropped {restarts} times only"
    _assert_no_duplicate_creates(clusters)
    watchdog.assert_clean()
    assert watchdog.checked > 0
    assert clusters.virtual.counters["list", NETPOLS] == 1
    assert clusters.host.counters["list", NETPOLS] == 1


async def test_a_host_restart_mid_sync_converges(clusters: Clusters) -> None:
    """The host API server restarts (every connection dropped) while 100 creates are under way;
    the sync finishes with exactly one host copy per virtual policy."""
    clusters.host.faults.delay(0.05, verb="create", resource=NETPOLS)
    for i in range(100):
        create(clusters.virtual, network_policy(f"p{i}"))
    async with clusters.run(workers=4):
        await wait_for(lambda: len(host_copies(clusters.host)) >= 20, timeout=20)
        await clusters.host.restart()
        assert len(host_copies(clusters.host)) < 100, "the restart came too late to matter"
        await wait_converged(clusters, timeout=30)
    assert len(host_copies(clusters.host)) == 100


async def test_a_relist_during_a_burst_repeats_no_write(clusters: Clusters) -> None:
    """A host 410 forces a relist (held back half a second) while copies are being written:
    copies written after the list's snapshot are not mistaken for deleted ones, so no create is
    repeated and nothing is given up."""
    for i in range(600):
        create(clusters.virtual, network_policy(f"p{i}"))
    async with clusters.run() as run:
        await wait_converged(clusters, timeout=60)
        clusters.host.counters.reset()
        clusters.host.faults.delay(0.5, verb="list", resource=NETPOLS)
        clusters.host.faults.drop_watches(NETPOLS)
        for i in range(100):
            create(clusters.virtual, network_policy(f"q{i}"))
            if i == 5:
                clusters.host.faults.compact(NETPOLS)  # the reconnecting watch gets 410
            await asyncio.sleep(0.02)
        await wait_converged(clusters, timeout=30)
        assert clusters.host.counters["list", NETPOLS] == 1, "one relist, one request"
        samples = await run.metrics()
        assert samples.value("netpol_syncer_watch_restarts_total", cluster="host", reason="gone")
        assert samples.value("netpol_syncer_reconcile_total", result="conflict") == 0
    _assert_no_duplicate_creates(clusters)
    assert writes(clusters.host) == 100
