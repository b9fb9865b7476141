"""Two complete syncers on the same clusters: only the leader writes, and a standby takes over."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from kubesim import KubeSim
from kubesim.testing import network_policy, wait_for
from syncer.commands import running
from syncer.configuration import settings
from tests.support import backends

from .conftest import LEASE, NAMESPACE, RENEW, RETRY


@dataclass
class Replica:
    syncer: running.Syncer
    stop: asyncio.Event
    task: asyncio.Task[int]

    def writes(self) -> float:
        """Host writes this replica made, from its own metrics."""
        total = 0.0
        for result in ("created", "updated", "deleted"):
            value = self.syncer.metrics.registry.get_sample_value(
                "netpol_syncer_reconcile_total", {"result": result}
            )
            total += value or 0.0
        return total

    def leading(self) -> bool:
        return bool(self.syncer.metrics.registry.get_sample_value("netpol_syncer_leader"))


@pytest_asyncio.fixture(params=backends.params())
async def clusters(request: pytest.FixtureRequest) -> AsyncIterator[tuple[KubeSim, KubeSim]]:
    async with (
        backends.server(request.param, "virtual") as virtual,
        backends.server(request.param, "host", namespaces=["default", NAMESPACE]) as host,
    ):
        yield virtual, host


@pytest_asyncio.fixture
async def replicas(
    clusters: tuple[KubeSim, KubeSim], tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    virtual, host = clusters
    options = settings.Settings(
        name="demo",
        host_namespace=NAMESPACE,
        virtual_kubeconfig=str(virtual.write_kubeconfig(tmp_path / "virtual")),
        host_kubeconfig=str(host.write_kubeconfig(tmp_path / "host")),
        metrics_address="127.0.0.1:0",
        leader_elect=True,
        leader_elect_lease_duration=LEASE,
        leader_elect_renew_deadline=RENEW,
        leader_elect_retry_period=RETRY,
        virtual_qps=500,
        virtual_burst=500,
        host_qps=500,
        host_burst=500,
    )
    started: list[Replica] = []
    for _ in range(2):
        syncer = running.Syncer(options)
        stop = asyncio.Event()
        started.append(Replica(syncer, stop, asyncio.create_task(syncer.run(stop))))
        await syncer.started.wait()
    yield started
    for replica in started:
        replica.stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(replica.task, 30)  # a syncer that never stops fails here


def _host_names(host: KubeSim) -> set[str]:
    return {o["metadata"]["name"] for o in host.store.list("networkpolicies", NAMESPACE)}


async def _ready_and_one_leader(replicas: list[Replica]) -> Replica:
    async def one() -> Replica | None:
        leading = [r for r in replicas if r.leading()]
        ready = all(r.syncer.controller and r.syncer.controller.ready()[0] for r in replicas)
        return leading[0] if len(leading) == 1 and ready else None

    return await wait_for(one, timeout=LEASE * 3)


async def test_only_the_leader_writes_and_the_standby_is_ready(
    clusters: tuple[KubeSim, KubeSim], replicas: list[Replica]
) -> None:
    """All writes come from the leader; the standby is ready (warm caches) but writes nothing."""
    virtual, host = clusters
    leader = await _ready_and_one_leader(replicas)
    standby = next(r for r in replicas if r is not leader)
    for i in range(20):
        virtual.store.create(network_policy(f"p{i}", namespace="default"))
    await wait_for(lambda: len(_host_names(host)) == 20, timeout=10)
    # A write is counted once its reply is in, which may come after the host shows it.
    await wait_for(lambda: leader.writes() == 20, timeout=5)
    assert standby.writes() == 0
    assert standby.syncer.controller is not None
    await wait_for(lambda: len(standby.syncer.controller.virtual) == 20, timeout=5)


async def test_standby_takes_over_after_the_leader_stops(
    clusters: tuple[KubeSim, KubeSim], replicas: list[Replica]
) -> None:
    """A leader stopped with SIGTERM semantics releases the lease; the standby syncs next."""
    virtual, host = clusters
    leader = await _ready_and_one_leader(replicas)
    standby = next(r for r in replicas if r is not leader)
    leader.stop.set()
    assert await leader.task == 0
    stopped = time.monotonic()
    await wait_for(standby.leading, timeout=LEASE + 2)
    assert time.monotonic() - stopped <= RETRY + 1.0  # released: no lease to wait out
    virtual.store.create(network_policy("after", namespace="default"))
    await wait_for(lambda: "after-x-default-x-demo" in _host_names(host), timeout=5)
    await wait_for(lambda: standby.writes() == 1, timeout=5)  # counted once its reply is in


@pytest.mark.parametrize("repeat", [pytest.param(0, id="crash")])
async def test_standby_takes_over_a_crashed_leader_within_lease_duration_plus_two_seconds(
    clusters: tuple[KubeSim, KubeSim], replicas: list[Replica], repeat: int
) -> None:
    """A leader that vanishes without releasing is replaced within lease duration + 2 s, and
    the replaced one makes no write after its lease expired."""
    virtual, host = clusters
    leader = await _ready_and_one_leader(replicas)
    standby = next(r for r in replicas if r is not leader)
    await asyncio.sleep(RETRY * 3)
    leader.task.cancel()  # no release: the lease must run out
    with contextlib.suppress(asyncio.CancelledError):
        await leader.task
    crashed = time.monotonic()
    writes_at_crash = leader.writes()
    await wait_for(standby.leading, timeout=LEASE + 3)
    assert time.monotonic() - crashed <= LEASE + 2
    virtual.store.create(network_policy("late", namespace="default"))
    await wait_for(lambda: "late-x-default-x-demo" in _host_names(host), timeout=5)
    assert leader.writes() == writes_at_crash
    await wait_for(lambda: standby.writes() == 1, timeout=5)  # counted once its reply is in
