"""The informer on a fake clock against a scripted API (SPEC §6 Informers): a watch resumes
from the last event's or bookmark's resourceVersion without listing, only 410 Gone lists
again, and a watch that closes at once is reopened after a backoff, never in a hot loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from syncer.pipeline import caching
from syncer.pipeline.watching import Informer
from syncer.runtime import clients, errors, ratelimiting
from syncer.runtime import clock as clocks
from translate import ObjectKey

Json = dict[str, Any]


def _policy(name: str, version: str) -> Json:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": version}}


def _event(kind: str, name: str, version: str) -> Json:
    return {"type": kind, "object": _policy(name, version)}


def _bookmark(version: str) -> Json:
    return {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": version}}}


class ScriptedApi:
    """Answers each LIST with the next scripted list, each WATCH with the next scripted stream
    (a list of events, or an error to raise); notes what was asked."""

    cluster = "virtual"

    def __init__(self, clock: clocks.Clock) -> None:
        self.clock = clock
        self.opened: list[float] = []
        """When each WATCH was opened."""
        self.lists: list[tuple[str, list[Json]]] = []
        """(resourceVersion, items) per LIST, in order."""
        self.streams: list[list[Json | float] | Exception] = []
        """Per WATCH: its events (a number: that many clock seconds of silence), or an error."""
        self.listed = 0
        self.watched_from: list[str] = []
        """The resourceVersion each WATCH was opened from."""

    async def list_page(self, resource: clients.Resource, namespace: str | None, **_: Any) -> Any:
        version, items = self.lists[min(self.listed, len(self.lists) - 1)]
        self.listed += 1
        body = {"metadata": {"resourceVersion": version}, "items": items}
        return clients.ListPage(json.dumps(body).encode())

    @asynccontextmanager
    async def watch(
        self, resource: clients.Resource, namespace: str | None, *, resource_version: str, **_: Any
    ) -> AsyncIterator[AsyncIterator[Json]]:
        self.watched_from.append(resource_version)
        self.opened.append(self.clock.now())
        if not self.streams:
            await asyncio.Event().wait()  # a silent open watch
        stream = self.streams.pop(0)
        if isinstance(stream, Exception):
            raise stream
        yield self._events(stream)

    async def _events(self, events: list[Json | float]) -> AsyncIterator[Json]:
        for event in events:
            if isinstance(event, float):
                await self.clock.sleep(event)
            else:
                yield event


class NoJitter:
    def random(self) -> float:
        return 0.0


class Changes:
    """What the informer reported: (old name or None, new name or None)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str | None]] = []

    def __call__(self, old: Json | None, new: Json | None) -> None:
        def name(obj: Json | None) -> str | None:
            return None if obj is None else str(obj["metadata"]["name"])

        self.seen.append((name(old), name(new)))


@pytest.fixture
def clock() -> clocks.FakeClock:
    return clocks.FakeClock()


def _informer(api: ScriptedApi, clock: clocks.FakeClock, changes: Changes) -> Informer:
    return Informer(
        api=api,  # type: ignore[arg-type]  # the list/watch calls of KubeApi, scripted
        resource=clients.NETWORK_POLICIES,
        store=caching.Store(),
        on_change=changes,
        clock=clock,
        backoff=ratelimiting.ReconnectBackoff(clock=clock, rng=NoJitter()),
    )


async def _run(informer: Informer, clock: clocks.FakeClock, seconds: float) -> None:
    """Run the informer for ``seconds`` of fake time (or until the scripts run out)."""
    task = asyncio.create_task(informer.run())
    try:
        await clock.run_for(seconds)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_watch_resumes_from_the_last_events_version(clock: clocks.FakeClock) -> None:
    """After a watch that delivered events ends, the next one starts from the last event's
    resourceVersion; the API is listed once."""
    api = ScriptedApi(clock)
    api.lists = [("10", [_policy("a", "9")])]
    api.streams = [[_event("ADDED", "b", "11"), _event("MODIFIED", "a", "12")]]
    changes = Changes()
    informer = _informer(api, clock, changes)
    await _run(informer, clock, 1.0)
    assert api.watched_from == ["10", "12"]
    assert api.listed == 1
    assert changes.seen == [(None, "a"), (None, "b"), ("a", "a")]


async def test_a_watch_resumes_from_the_last_bookmarks_version(clock: clocks.FakeClock) -> None:
    """A bookmark moves the resume point even when no object changed: the next watch starts
    from it, and the store counts as proven current at its arrival."""
    api = ScriptedApi(clock)
    api.lists = [("10", [])]
    api.streams = [[_event("ADDED", "b", "11"), 3.0, _bookmark("20")]]
    informer = _informer(api, clock, Changes())
    await _run(informer, clock, 5.0)
    assert api.watched_from == ["10", "20"]
    assert api.listed == 1
    assert informer.current_at == 3.0


async def test_410_gone_lists_again_and_reports_what_was_missed(clock: clocks.FakeClock) -> None:
    """A watch answered 410 Gone lists again: an object absent from the new list is reported
    deleted, a new one added, and the watch resumes from the new list's version."""
    api = ScriptedApi(clock)
    api.lists = [("10", [_policy("a", "9"), _policy("b", "9")]), ("30", [_policy("c", "25")])]
    api.streams = [errors.Gone(410, reason="Expired", message="too old resource version")]
    changes = Changes()
    informer = _informer(api, clock, changes)
    await _run(informer, clock, 1.0)
    assert api.listed == 2
    assert api.watched_from == ["10", "30"]
    assert set(informer.store) == {ObjectKey("default", "c")}
    assert set(changes.seen[2:]) == {(None, "c"), ("a", None), ("b", None)}


async def test_other_watch_errors_resume_without_listing(clock: clocks.FakeClock) -> None:
    """Any other error (here a 500) backs off and resumes from the same version: no LIST."""
    api = ScriptedApi(clock)
    api.lists = [("10", [_policy("a", "9")])]
    api.streams = [errors.ServerError(500, reason="InternalError", message="etcd")]
    informer = _informer(api, clock, Changes())
    await _run(informer, clock, 5.0)
    assert api.listed == 1
    assert api.watched_from == ["10", "10"]


async def test_a_watch_closing_at_once_is_reopened_after_a_backoff(clock: clocks.FakeClock) -> None:
    """A server that ends every watch at once without an event sees the watches reopened
    after 0.8 s, 1.6 s, 3.2 s, 5 s... (no hot loop), each from the same version."""
    api = ScriptedApi(clock)
    api.lists = [("10", [])]
    api.streams = [[] for _ in range(6)]
    informer = _informer(api, clock, Changes())
    await _run(informer, clock, 60.0)
    gaps = [round(b - a, 3) for a, b in zip(api.opened, api.opened[1:], strict=False)]
    assert gaps == [0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    assert set(api.watched_from) == {"10"}
    assert api.listed == 1
