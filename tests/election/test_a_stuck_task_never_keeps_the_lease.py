"""A task that does not end when cancelled (a library call that swallows the cancellation, a
cleanup that hangs) must not keep the lease: on a stop the process still releases the lease
and returns 0 within ``SHUTDOWN_BUDGET``, so a standby takes over at once instead of waiting
the lease out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from kubesim import KubeSim
from kubesim.testing import wait_for
from syncer.commands import running
from syncer.configuration import settings
from syncer.pipeline import owning, working
from syncer.runtime import reloading

from .conftest import LEASE, NAMESPACE, RENEW, RETRY

LEASE_NAME = "demo-netpol-syncer"


class Stuck:
    """A ``run`` that ignores cancellation until freed."""

    def __init__(self) -> None:
        self.freed = asyncio.Event()
        self.cancels = 0

    async def run(self) -> None:
        while not self.freed.is_set():
            try:
                await self.freed.wait()
            except asyncio.CancelledError:
                self.cancels += 1


@pytest_asyncio.fixture(
    params=[
        # A controller task: the controller leaves it behind.
        pytest.param((owning.ServiceOwner, "run"), id="owner-informer"),
        # A task of the process around the controller: the stop releases the lease itself.
        pytest.param((reloading.KubeconfigWatch, "run"), id="kubeconfig-watch"),
        # A worker the controller waits for: the stop gives up on it and releases the lease.
        pytest.param((working.Workers, "run"), id="worker"),
    ]
)
async def stuck(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stuck]:
    owner, method = request.param
    task = Stuck()

    async def run(_self: object) -> None:
        await task.run()

    monkeypatch.setattr(owner, method, run)
    yield task
    task.freed.set()


def _holder(host: KubeSim) -> str:
    lease = host.store.find("leases", NAMESPACE, LEASE_NAME)
    return "" if lease is None else str(lease["spec"].get("holderIdentity") or "")


async def test_a_task_ignoring_cancellation_does_not_keep_the_lease(
    tmp_path: Path, stuck: Stuck
) -> None:
    """Leading, with one task that never ends when cancelled: a stop returns 0 within the
    shutdown budget and the lease is released."""
    async with KubeSim() as virtual, KubeSim(namespaces=["default", NAMESPACE]) as host:
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
        )
        syncer = running.Syncer(options)
        stop = asyncio.Event()
        task = asyncio.create_task(syncer.run(stop))
        try:
            await wait_for(lambda: _holder(host) != "", timeout=LEASE + 5)
            await wait_for(
                lambda: syncer.controller is not None and syncer.controller.started.is_set(),
                timeout=5,
                message="workers never started",
            )
            stop.set()
            done, _ = await asyncio.wait({task}, timeout=running.SHUTDOWN_BUDGET)
            assert task in done, "the stop did not return within the shutdown budget"
            assert task.result() == 0
            assert stuck.cancels >= 1, "the stuck task was asked to stop"
            assert _holder(host) == ""
        finally:
            stuck.freed.set()
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 10)
