"""Kubernetes Events on virtual objects, so tenants see why a policy did not sync.

``kubectl describe networkpolicy`` inside the virtual cluster lists Events whose
``involvedObject`` is the policy; that is the tenant's only window into host-side failures.
Repeats of the same (object, reason, message) are aggregated like client-go's recorder: one
Event whose ``count`` and ``lastTimestamp`` grow, written at most once per ``min_interval`` per
series so a hot failure cannot flood the virtual API server.

Recording never blocks or fails the caller: Events are queued and written by :meth:`run`;
write failures are logged and dropped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from syncer.runtime import clients, errors
from syncer.runtime.clock import Clock, LoopClock

log = structlog.get_logger("syncer.pipeline.recording")

COMPONENT = "netpol-syncer"


class EventMetrics(Protocol):
    def event_emitted(self, type_: str, reason: str) -> None: ...


@dataclass(slots=True)
class _Series:
    """One aggregated Event: the same reason and message on the same object."""

    namespace: str
    involved: dict[str, Any]
    type: str
    reason: str
    message: str
    count: int = 0
    written_count: int = 0
    first: str = ""
    last: str = ""
    name: str | None = None
    next_write: float = 0.0
    pending: bool = False


class EventRecorder:
    """Queues and writes aggregated Events to one cluster."""

    def __init__(
        self,
        *,
        api: clients.KubeApi,
        instance: str | None = None,
        clock: Clock | None = None,
        metrics: EventMetrics | None = None,
        min_interval: float = 10.0,
        max_series: int = 4096,
    ) -> None:
        self._api = api
        self._instance = instance or os.environ.get("HOSTNAME", "") or COMPONENT
        self._clock = clock or LoopClock()
        self._metrics = metrics
        self._min_interval = min_interval
        self._max_series = max_series
        self._series: OrderedDict[tuple[str, str, str, str, str], _Series] = OrderedDict()
        self._queue: asyncio.Queue[_Series] = asyncio.Queue()

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        """Record a Warning about ``obj`` (a NetworkPolicy as cached). Never raises."""
        self._record(obj, "Warning", reason, message)

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self._record(obj, "Normal", reason, message)

    def _record(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "")
        uid = meta.get("uid", "")
        key = (namespace, meta.get("name", ""), uid, reason, message)
        series = self._series.get(key)
        now = _timestamp()
        if series is None:
            series = _Series(
                namespace=namespace,
                involved={
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "namespace": namespace,
                    "name": meta.get("name", ""),
                    "uid": uid,
                    "resourceVersion": meta.get("resourceVersion", ""),
                },
                type=type_,
                reason=reason,
                message=message[:1024],
                first=now,
            )
            self._series[key] = series
            while len(self._series) > self._max_series:
                self._series.popitem(last=False)
        self._series.move_to_end(key)
        series.count += 1
        series.last = now
        if self._metrics is not None:
            self._metrics.event_emitted(type_, reason)
        if not series.pending:
            series.pending = True
            self._queue.put_nowait(series)

    async def run(self) -> None:
        """Write queued Events until cancelled."""
        while True:
            series = await self._queue.get()
            delay = series.next_write - self._clock.now()
            if delay > 0:
                # Hold this series back without blocking the others.
                asyncio.get_running_loop().call_later(delay, self._queue.put_nowait, series)
                continue
            series.pending = False
            await self._write(series)

    async def flush(self) -> None:
        """Write everything queued now, ignoring the per-series interval (shutdown, tests).

        That includes series :meth:`run` holds back for the interval (they are on a loop
        timer, not in the queue), or their latest repeats would be lost at shutdown.
        """
        due = {id(s): s for s in self._series.values() if s.pending}
        while not self._queue.empty():
            series = self._queue.get_nowait()
            due[id(series)] = series
        for series in due.values():
            series.pending = False
            await self._write(series)

    async def _write(self, series: _Series) -> None:
        if series.count == series.written_count:
            return
        series.next_write = self._clock.now() + self._min_interval
        try:
            if series.name is not None:
                try:
                    await self._api.merge_patch(
                        clients.EVENTS,
                        series.namespace,
                        series.name,
                        {"count": series.count, "lastTimestamp": series.last},
                    )
                    series.written_count = series.count
                    return
                except errors.NotFound:
                    series.name = None
            body = self._body(series)
            await self._api.create(clients.EVENTS, series.namespace, body)
            series.name = body["metadata"]["name"]
            series.written_count = series.count
        except errors.ApiError as exc:
            log.warning(
                "could not write event",
                virtual=f"{series.namespace}/{series.involved['name']}",
                reason=series.reason,
                error=str(exc),
            )

    def _body(self, series: _Series) -> dict[str, Any]:
        name = f"{series.involved['name']}.{secrets.token_hex(8)}"
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": series.namespace},
            "involvedObject": series.involved,
            "reason": series.reason,
            "message": series.message,
            "type": series.type,
            "count": series.count,
            "firstTimestamp": series.first,
            "lastTimestamp": series.last,
            "source": {"component": COMPONENT, "host": self._instance},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
        }


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
