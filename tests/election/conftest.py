"""Fixtures for leader-election tests: a host API (per backend), electors with a partition
switch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from kubesim import KubeSim
from syncer.runtime import clients, electing
from tests.support import backends

NAMESPACE = "vc-ns"
# Short but proportioned like client-go's 15/10/2 s, so the tests take seconds.
LEASE = 1.5
RENEW = 1.0
RETRY = 0.2


class Partition:
    """A switch in front of one replica's API client: while cut, its requests hang; while
    broken, they raise an error that is not an API error (as a credential loader does when
    the token file it re-reads is gone)."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._error: Exception | None = None
        self.raised = 0

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()
        self._error = None

    def break_with(self, error: Exception) -> None:
        self._error = error

    async def __call__(self) -> None:
        await self._open.wait()
        if self._error is not None:
            self.raised += 1
            raise self._error


@pytest_asyncio.fixture(params=backends.params())
async def host(request: pytest.FixtureRequest) -> AsyncIterator[KubeSim]:
    """The host API server, once per backend (kubesim, or a real one behind a fault proxy)."""
    async with backends.server(request.param, "host", namespaces=["default", NAMESPACE]) as sim:
        yield sim


Candidate = tuple[electing.LeaderElector, Partition, "asyncio.Task[None]"]


@pytest_asyncio.fixture
async def candidates(host: KubeSim) -> AsyncIterator[Callable[[str], Awaitable[Candidate]]]:
    """Factory: start an elector named ``identity`` on the shared lease."""
    started: list[tuple[clients.KubeApi, asyncio.Task[None]]] = []

    async def start(identity: str) -> Candidate:
        partition = Partition()
        api = await clients.KubeApi.connect(
            host.kubeconfig(), cluster="host", request_timeout=5.0, throttle=partition
        )
        elector = electing.LeaderElector(
            api=api,
            settings=electing.LeaseSettings(
                name="demo-netpol-syncer",
                namespace=NAMESPACE,
                identity=identity,
                lease_duration=LEASE,
                renew_deadline=RENEW,
                retry_period=RETRY,
            ),
        )
        task = asyncio.create_task(elector.run())
        started.append((api, task))
        return elector, partition, task

    yield start
    for api, task in started:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await api.close()


@pytest.fixture
def lease_holder(host: KubeSim) -> Callable[[], str]:
    def holder() -> str:
        lease = host.store.find("leases", NAMESPACE, "demo-netpol-syncer")
        return "" if lease is None else str(lease["spec"].get("holderIdentity") or "")

    return holder
