"""An in-memory Lease API on a fake clock, for elector tests that need exact times: each
request can take a set time or hang, and every request is noted with the time it started."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from syncer.runtime import clients, errors
from syncer.runtime import clock as clocks


class LeaseApi:
    """Just enough of :class:`clients.KubeApi` for :class:`electing.LeaderElector`."""

    cluster = "host"

    def __init__(self, clock: clocks.Clock) -> None:
        self.clock = clock
        self.lease: dict[str, Any] | None = None
        self.latency = 0.0
        """Clock seconds each request takes before the server acts on it."""
        self.hanging = False
        """While set, requests never get an answer (a partition)."""
        self.requests: list[tuple[float, str]] = []
        self.cancelled = 0
        """Requests abandoned by the caller while hanging or in flight."""
        self._version = 0

    async def _travel(self, verb: str) -> None:
        self.requests.append((self.clock.now(), verb))
        try:
            if self.hanging:
                await asyncio.Event().wait()
            await self.clock.sleep(self.latency)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def holder(self) -> str:
        return "" if self.lease is None else str(self.lease["spec"].get("holderIdentity") or "")

    def put(self, spec: Mapping[str, Any]) -> None:
        """Write the lease as another replica would."""
        self._version += 1
        meta = {"name": "lease", "namespace": "vc-ns", "resourceVersion": str(self._version)}
        self.lease = {"metadata": meta, "spec": dict(spec)}

    async def get(self, resource: clients.Resource, namespace: str | None, name: str) -> Any:
        await self._travel("get")
        if self.lease is None:
            raise errors.NotFound(404, reason="NotFound", message=name)
        return copy.deepcopy(self.lease)

    async def create(
        self, resource: clients.Resource, namespace: str | None, body: Mapping[str, Any]
    ) -> Any:
        await self._travel("create")
        if self.lease is not None:
            raise errors.AlreadyExists(409, reason="AlreadyExists", message="lease")
        self.put(body["spec"])
        return copy.deepcopy(self.lease)

    async def replace(
        self, resource: clients.Resource, namespace: str | None, name: str, body: Any
    ) -> Any:
        await self._travel("update")
        assert self.lease is not None
        sent = body["metadata"].get("resourceVersion")
        if sent != self.lease["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, reason="Conflict", message="stale")
        self.put(body["spec"])
        return copy.deepcopy(self.lease)
