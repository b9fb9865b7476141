"""A whole syncer whose lease requests fail with an unexpected error (issue 10, item 3): the
leader gauge drops at the renew deadline, workers stop instead of spinning on keys they may not
write, the failure is counted, leadership comes back when requests work, and a stop releases
the lease and exits 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from kubernetes_asyncio.config import ConfigException

from kubesim import KubeSim
from kubesim.testing import network_policy, wait_for
from syncer.commands import running
from syncer.configuration import settings
from syncer.runtime import clients

from .conftest import LEASE, NAMESPACE, RENEW, RETRY

WORKERS = 4


class LeaseReads:
    """Makes every lease GET of this process raise ``ConfigException`` while broken (what
    kubernetes-asyncio raises when the service-account token it re-reads is unreadable)."""

    def __init__(self) -> None:
        self.broken = False
        self.raised = 0


@pytest.fixture
def lease_reads(monkeypatch: pytest.MonkeyPatch) -> LeaseReads:
    switch = LeaseReads()
    get = clients.KubeApi.get

    async def get_or_fail(
        self: clients.KubeApi, resource: clients.Resource, namespace: str | None, name: str
    ) -> Any:
        if switch.broken and resource == clients.LEASES:
            switch.raised += 1
            raise ConfigException("Invalid kube-config file. No configuration found.")
        return await get(self, resource, namespace, name)

    monkeypatch.setattr(clients.KubeApi, "get", get_or_fail)
    return switch


class Replica:
    def __init__(self, syncer: running.Syncer, stop: asyncio.Event) -> None:
        self.syncer = syncer
        self.stop = stop
        self.task = asyncio.create_task(syncer.run(stop))

    def sample(self, name: str, **labels: str) -> float:
        return self.syncer.metrics.registry.get_sample_value(name, labels) or 0.0

    def leading(self) -> bool:
        return self.sample("netpol_syncer_leader") == 1


@pytest_asyncio.fixture
async def replica(tmp_path: Path) -> AsyncIterator[tuple[Replica, KubeSim, KubeSim]]:
    async with KubeSim() as virtual, KubeSim(namespaces=["default", NAMESPACE]) as host:
        options = settings.Settings(
            name="demo",
            host_namespace=NAMESPACE,
            virtual_kubeconfig=str(virtual.write_kubeconfig(tmp_path / "virtual")),
            host_kubeconfig=str(host.write_kubeconfig(tmp_path / "host")),
            metrics_address="127.0.0.1:0",
            workers=WORKERS,
            leader_elect=True,
            leader_elect_lease_duration=LEASE,
            leader_elect_renew_deadline=RENEW,
            leader_elect_retry_period=RETRY,
        )
        one = Replica(running.Syncer(options), asyncio.Event())
        await one.syncer.started.wait()
        yield one, virtual, host
        one.stop.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(one.task, 10)


def _holder(host: KubeSim) -> str:
    lease = host.store.find("leases", NAMESPACE, "demo-netpol-syncer")
    return "" if lease is None else str(lease["spec"].get("holderIdentity") or "")


def _copies(host: KubeSim) -> set[str]:
    return {o["metadata"]["name"] for o in host.store.list("networkpolicies", NAMESPACE)}


async def test_crashing_lease_attempts_drop_leadership_without_spinning(
    replica: tuple[Replica, KubeSim, KubeSim], lease_reads: LeaseReads
) -> None:
    """While every lease read crashes the gauge drops to 0 within the renew deadline, no
    worker keeps reconciling, the failures are counted; once reads work it leads and syncs
    again, and a stop exits 0 with the lease released."""
    one, virtual, host = replica
    virtual.store.create(network_policy("a", namespace="default"))
    await wait_for(lambda: one.leading() and "a-x-default-x-demo" in _copies(host), timeout=10)

    lease_reads.broken = True
    await wait_for(lambda: not one.leading(), timeout=RENEW + 3 * RETRY + 2)
    await asyncio.sleep(RETRY)  # workers see the loss
    skipped = one.sample("netpol_syncer_reconcile_total", result="skipped")
    virtual.store.create(network_policy("b", namespace="default"))
    await asyncio.sleep(1.0)
    spun = one.sample("netpol_syncer_reconcile_total", result="skipped") - skipped
    assert spun <= WORKERS, f"{spun:.0f} skipped reconciles in 1 s after losing the lease"
    assert "b-x-default-x-demo" not in _copies(host)
    assert one.sample("netpol_syncer_task_failures_total", task="elector") >= 1
    assert not one.task.done()

    lease_reads.broken = False
    await wait_for(lambda: "b-x-default-x-demo" in _copies(host), timeout=LEASE + 5)
    assert one.leading()
    one.stop.set()
    assert await asyncio.wait_for(one.task, 10) == 0
    assert _holder(host) == ""


async def test_stop_right_after_a_crashed_attempt_releases_and_exits_zero(
    replica: tuple[Replica, KubeSim, KubeSim], lease_reads: LeaseReads
) -> None:
    """A stop that comes while a crashed lease attempt is the last thing the elector did
    still releases the lease it holds and exits 0."""
    one, _, host = replica
    await wait_for(one.leading, timeout=LEASE + 2)
    lease_reads.broken = True
    await wait_for(lambda: lease_reads.raised >= 1, timeout=5)
    assert _holder(host) != ""
    one.stop.set()
    assert await asyncio.wait_for(one.task, 10) == 0
    assert _holder(host) == ""
