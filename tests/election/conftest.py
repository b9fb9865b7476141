"""Fixtures for leader-election tests: a host API (per backend), electors with a partition
switch, all on one stepped fake clock.

The electors talk to a real API server (kubesim or kube-apiserver), but read time from a
:class:`SteppedClock`: time jumps from one timer to the next only once no request is in
flight, so every margin is asserted exactly, in fake seconds, however loaded the machine."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from kubesim import KubeSim
from syncer.runtime import clients, electing
from syncer.runtime import clock as clocks
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
        self.parked = 0
        """Requests waiting for the partition to heal."""

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()
        self._error = None

    def break_with(self, error: Exception) -> None:
        self._error = error

    async def __call__(self) -> None:
        self.parked += 1
        try:
            await self._open.wait()
        finally:
            self.parked -= 1
        if self._error is not None:
            self.raised += 1
            raise self._error


@pytest_asyncio.fixture(params=backends.params())
async def host(request: pytest.FixtureRequest) -> AsyncIterator[KubeSim]:
    """The host API server, once per backend (kubesim, or a real one behind a fault proxy)."""
    async with backends.server(request.param, "host", namespaces=["default", NAMESPACE]) as sim:
        yield sim


class Tracked:
    """The Lease calls of one elector's API client, counted while in flight."""

    def __init__(self, api: clients.KubeApi, partition: Partition) -> None:
        self.api = api
        self.partition = partition
        self.in_flight = 0

    def quiet(self) -> bool:
        """No request on its way, except those held by a cut partition."""
        return self.in_flight == self.partition.parked

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.in_flight += 1
        try:
            return await getattr(self.api, method)(*args, **kwargs)
        finally:
            self.in_flight -= 1

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("get", *args, **kwargs)

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("create", *args, **kwargs)

    async def replace(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("replace", *args, **kwargs)


QUIET_CYCLES = 20
"""Loop iterations without a request in flight after which the electors are taken to be
waiting on the clock: from a timer to the next request takes a handful."""
ANSWER_TIMEOUT = 15.0
"""Real seconds the API gets to answer a request (a bound for a hung server, not a margin)."""


class SteppedClock(clocks.FakeClock):
    """Fake time for electors talking to a real server: time moves from one timer to the
    next, and only once every request sent has been answered (or is held by a partition)."""

    def __init__(self) -> None:
        super().__init__(start=1000.0)
        self.apis: list[Tracked] = []

    async def quiesce(self) -> None:
        """Until no request is in flight, for :data:`QUIET_CYCLES` iterations in a row."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        quiet = 0
        while quiet < QUIET_CYCLES:
            if all(api.quiet() for api in self.apis):
                quiet += 1
                await asyncio.sleep(0)
                continue
            quiet = 0
            if time.monotonic() > deadline:
                raise AssertionError(f"requests unanswered after {ANSWER_TIMEOUT}s")
            await asyncio.sleep(0.001)

    async def step(self, *, until: float) -> None:
        """Fire the next timer due by ``until`` (or move to ``until``), then quiesce."""
        await self.quiesce()
        due = self.next_deadline()
        target = until if due is None else min(due, until)
        self.advance(max(target - self.now(), 0.0))
        await self.quiesce()

    async def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` of fake time pass, firing every timer on the way."""
        end = self.now() + seconds
        while self.now() < end:
            await self.step(until=end)

    async def until(self, condition: Callable[[], bool], *, within: float) -> float:
        """Step time until ``condition()`` holds; fails after ``within`` fake seconds.
        Returns the fake time at which it first held."""
        end = self.now() + within
        await self.quiesce()
        while not condition():
            assert self.now() < end, f"not within {within} s of fake time"
            await self.step(until=end)
        return self.now()


Candidate = tuple[electing.LeaderElector, Partition, "asyncio.Task[None]"]


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest_asyncio.fixture
async def candidates(
    host: KubeSim, clock: SteppedClock
) -> AsyncIterator[Callable[[str], Awaitable[Candidate]]]:
    """Factory: start an elector named ``identity`` on the shared lease and ``clock``."""
    started: list[tuple[clients.KubeApi, asyncio.Task[None]]] = []

    async def start(identity: str) -> Candidate:
        partition = Partition()
        api = await clients.KubeApi.connect(
            host.kubeconfig(), cluster="host", request_timeout=5.0, throttle=partition
        )
        tracked = Tracked(api, partition)
        clock.apis.append(tracked)
        elector = electing.LeaderElector(
            api=tracked,  # type: ignore[arg-type]  # the Lease calls of KubeApi, counted
            clock=clock,
            rng=random.Random(identity),
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
