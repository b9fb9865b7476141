"""WATCH: per-request subscribers, replay from a resourceVersion, bookmarks, timeouts.

A :class:`Watcher` is registered with :mod:`kubesim.storage` and receives every event of its
resource synchronously, at the moment of the write, so its buffer is always in resourceVersion
order and a bookmark computed right after draining it can safely claim "everything up to the
current version was delivered". Filtering follows upstream: when a modification moves an object
into or out of a watcher's selectors, the watcher sees ``ADDED`` or ``DELETED`` instead of
``MODIFIED``.

Starting points, as in the real API server:

* no ``resourceVersion`` or ``"0"``: synthetic ``ADDED`` events for the current state, then live;
* ``N``: every change after ``N`` from the history, then live; older than the history is an
  ``ERROR`` event with a 410 ``Expired`` Status (HTTP status stays 200);
* ``sendInitialEvents=true``: the current state, then a bookmark annotated
  ``k8s.io/initial-events-end``.

:func:`pump` drives one stream: it writes batches of lines through a callback, emits a bookmark
every ``bookmark_interval`` seconds when the client allowed them, and stops after ``duration``
(``timeoutSeconds``) or when the watcher is closed (fault injection, restart).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Literal

from kubesim import errors, schema
from kubesim.resources import ResourceType
from kubesim.selectors import EVERYTHING, NOTHING, FieldSelector, LabelSelector
from kubesim.storage import Storage
from kubesim.versions import Entry, Event, parse_rv, watch_line

MAX_PENDING = 100_000
"""Buffered events after which a watcher that is not being read is ended, as the real
watch cache terminates watchers that cannot keep up (the client re-watches from its last
version and loses nothing)."""

CloseMode = Literal["drop", "end"]
"""``drop``: abort the connection (like a network failure); ``end``: finish the stream cleanly."""


class Watcher:
    """The server side of one watch request: filter plus an in-order line buffer."""

    def __init__(
        self,
        storage: Storage,
        rtype: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: LabelSelector = EVERYTHING,
        field_selector: FieldSelector = NOTHING,
        bookmarks: bool = False,
    ) -> None:
        self.storage = storage
        self.rtype = rtype
        self.namespace = namespace if rtype.namespaced and namespace else None
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.bookmarks = bookmarks
        self.closed: CloseMode | None = None
        self.stalled = False
        """A stalled stream stays open and delivers nothing (a half-open connection)."""
        self._plain = label_selector.empty and field_selector.empty
        self._lines: list[bytes] = []
        self._wake = asyncio.Event()

    def matches(self, entry: Entry) -> bool:
        """Whether an object version passes this watch's selectors."""
        return self.label_selector.matches(entry.labels) and self.field_selector.matches(
            entry.field
        )

    def offer(self, event: Event) -> None:
        """Storage callback: translate one change into zero or one line for this client."""
        if self.closed is not None:
            return
        if self.namespace is not None and event.entry.key[0] != self.namespace:
            return
        if self._plain:
            self._push(event.line())
            return
        now = event.type != "DELETED" and self.matches(event.entry)
        if event.type == "ADDED":
            if now:
                self._push(event.line())
        elif event.type == "DELETED":
            if self.matches(event.entry):
                self._push(event.line())
        else:
            before = event.prev is not None and self.matches(event.prev)
            if now and before:
                self._push(event.line())
            elif now:
                self._push(event.line("ADDED"))
            elif before:
                self._push(event.line("DELETED"))

    def _push(self, line: bytes) -> None:
        if len(self._lines) >= MAX_PENDING:
            self.close("end")
            return
        self._lines.append(line)
        self._wake.set()

    def drain(self) -> list[bytes]:
        """Take every buffered line."""
        lines, self._lines = self._lines, []
        self._wake.clear()
        return lines

    async def wait(self) -> None:
        """Until something is buffered or the watcher is closed."""
        if not self._lines and self.closed is None:
            await self._wake.wait()

    def stall(self) -> None:
        """Deliver nothing more, and do not end at the deadline, until closed."""
        self.stalled = True
        self._wake.set()

    def close(self, mode: CloseMode) -> None:
        """Stop the stream (the pump notices on its next turn)."""
        if self.closed is None:
            self.closed = mode
        self._wake.set()

    def bookmark(self, *, initial_events_end: bool = False) -> bytes:
        """A BOOKMARK line at the current global resourceVersion: an empty object of the kind
        (its always-encoded fields, e.g. ``spec.podSelector: {}``) carrying only the version."""
        meta: dict[str, object] = {"resourceVersion": str(self.storage.rv)}
        if initial_events_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        empty, _ = schema.decode(self.rtype.body, {"metadata": {}})
        obj = {
            "kind": self.rtype.kind,
            "apiVersion": self.rtype.api_version,
            **empty,
            "metadata": meta,
        }
        return watch_line("BOOKMARK", json.dumps(obj, separators=(",", ":")).encode())


def error_line(error: errors.ApiError) -> bytes:
    """An ERROR event carrying a Status, which is how watches report 410 and friends."""
    return watch_line("ERROR", error.body())


def open_watch(
    storage: Storage,
    rtype: ResourceType,
    *,
    namespace: str | None = None,
    label_selector: LabelSelector = EVERYTHING,
    field_selector: FieldSelector = NOTHING,
    resource_version: str | None = None,
    send_initial_events: bool | None = None,
    allow_bookmarks: bool = False,
) -> Watcher:
    """Register a watcher and pre-fill it with the replay, atomically with respect to writes.

    Raises 410 ``Expired`` for a version older than the history and 504 for one from the
    future; the HTTP layer turns both into an ERROR event like upstream.
    """
    watcher = Watcher(
        storage,
        rtype,
        namespace=namespace,
        label_selector=label_selector,
        field_selector=field_selector,
        bookmarks=allow_bookmarks,
    )
    requested = parse_rv(resource_version)
    bucket = storage.bucket(rtype)
    if send_initial_events or (send_initial_events is None and not requested):
        for entry in storage.iter_entries(rtype):
            if watcher.namespace is not None and entry.key[0] != watcher.namespace:
                continue
            if watcher._plain or watcher.matches(entry):
                watcher._push(watch_line("ADDED", entry.raw))
        if send_initial_events and allow_bookmarks:
            watcher._push(watcher.bookmark(initial_events_end=True))
    elif requested:
        if requested > storage.rv:
            raise errors.too_large_resource_version(requested, storage.rv)
        if requested < bucket.compacted_rv:
            raise errors.expired(f"too old resource version: {requested} ({bucket.compacted_rv})")
        for event in bucket.events_since(requested):
            watcher.offer(event)
    storage.subscribe(rtype, watcher)
    return watcher


async def pump(
    watcher: Watcher,
    write: Callable[[bytes], Awaitable[None]],
    *,
    duration: float,
    bookmark_interval: float,
) -> CloseMode | None:
    """Stream a watcher until its deadline or until it is closed; returns the close mode.

    Bookmarks are generated in the same synchronous step as draining the buffer, so the
    bookmark's version never runs ahead of an event still waiting to be written.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    next_bookmark = loop.time() + bookmark_interval
    try:
        while True:
            lines = watcher.drain()
            if watcher.stalled:
                if watcher.closed is not None:
                    return watcher.closed
                await watcher.wait()
                continue
            now = loop.time()
            if watcher.bookmarks and now >= next_bookmark and watcher.closed is None:
                lines.append(watcher.bookmark())
                next_bookmark = now + bookmark_interval
            if lines and watcher.closed != "drop":
                await write(b"".join(lines))
            if watcher.closed is not None:
                return watcher.closed
            now = loop.time()
            if now >= deadline:
                return None
            wake_at = min(deadline, next_bookmark) if watcher.bookmarks else deadline
            try:
                async with asyncio.timeout(max(0.0, wake_at - now)):
                    await watcher.wait()
            except TimeoutError:
                pass
    finally:
        watcher.storage.unsubscribe(watcher.rtype, watcher)
