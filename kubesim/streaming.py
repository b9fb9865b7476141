"""WATCH over HTTP: parameters, the chunked stream, and the registry of open streams.

:func:`kubesim.watching.open_watch` decides what a watch sees; this mixin turns a request into
one (selectors, ``resourceVersion``, ``sendInitialEvents``, bookmarks, ``timeoutSeconds``),
waits briefly for a version from the near future as the watch cache does, streams the lines
and keeps each open stream in ``watches`` so faults and restarts can stall or close it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from kubesim import errors, routing, selectors, tables, versions, watching, wire
from kubesim.resources import ResourceType
from kubesim.storage import Storage

_DEFAULT_WATCH_TIMEOUT = 1800.0
_TOO_LARGE_WAIT = 3.0


@dataclass(eq=False)
class ActiveWatch:
    """An open watch stream, so it can be closed by fault injection or a restart."""

    watcher: watching.Watcher
    request: web.BaseRequest


class Streams:
    """The watch verb of :class:`kubesim.handlers.Api` and the control of open streams."""

    storage: Storage
    bookmark_interval: float
    watches: set[ActiveWatch]

    async def _watch(
        self,
        request: web.BaseRequest,
        rtype: ResourceType,
        namespace: str,
        info: routing.RequestInfo,
    ) -> web.StreamResponse:
        query = request.query
        label_selector, field_selector = wire.parse_selectors(query, rtype)
        if info.name and (info.legacy_watch or query.get("watch")) and "fieldSelector" not in query:
            field_selector = selectors.parse_field_selector(f"metadata.name={info.name}")
        timeout = float(
            wire.int_param(query.get("timeoutSeconds"), "timeoutSeconds") or _DEFAULT_WATCH_TIMEOUT
        )
        send_initial = query.get("sendInitialEvents")
        if send_initial is not None and query.get("resourceVersionMatch") != "NotOlderThan":
            raise errors.invalid_object(
                "ListOptions",
                "meta.k8s.io",
                "",
                [
                    errors.forbidden(
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    )
                ],
            )
        requested = query.get("resourceVersion") or ""
        if requested and not requested.isdigit():
            raise errors.ApiError(500, "", versions.rv_syntax_error(requested))
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        if not as_table:
            wire.check_acceptable(request)
        error: errors.ApiError | None = None
        watcher: watching.Watcher | None = None
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _TOO_LARGE_WAIT
        while True:
            try:
                watcher = watching.open_watch(
                    self.storage,
                    rtype,
                    namespace=namespace or None,
                    label_selector=label_selector,
                    field_selector=field_selector,
                    resource_version=query.get("resourceVersion"),
                    send_initial_events=None
                    if send_initial is None
                    else send_initial.lower() == "true",
                    allow_bookmarks=(query.get("allowWatchBookmarks") or "").lower()
                    in {"true", "1"},
                )
                break
            except errors.ApiError as exc:
                if exc.code == 504 and loop.time() < give_up:
                    await asyncio.sleep(0.05)
                    continue
                error = exc
                break
        response = web.StreamResponse(status=200)
        response.content_type = tables.TABLE_CONTENT_TYPE if as_table else wire.JSON
        response.enable_chunked_encoding()
        await response.prepare(request)
        if error is not None or watcher is None:
            assert error is not None
            await response.write(watching.error_line(error))
            await response.write_eof()
            return response
        active = ActiveWatch(watcher, request)
        self.watches.add(active)

        async def write(data: bytes) -> None:
            if as_table:
                data = tables.watch_lines_as_table(data, rtype)
            await response.write(data)

        try:
            mode = await watching.pump(
                watcher, write, duration=timeout, bookmark_interval=self.bookmark_interval
            )
        finally:
            self.watches.discard(active)
        if mode == "drop":
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response

    def stall_watches(self, plural: str | None = None, token: str | None = None) -> int:
        """Silence open watch streams of one resource (or all), optionally only those that
        carried bearer ``token``; returns how many."""
        stalled = 0
        for active in list(self.watches):
            if plural is not None and active.watcher.rtype.plural != plural:
                continue
            if token is not None and active.request.headers.get("Authorization") != (
                f"Bearer {token}"
            ):
                continue
            active.watcher.stall()
            stalled += 1
        return stalled

    def close_watches(self, plural: str | None = None, *, graceful: bool = False) -> int:
        """Close open watch streams of one resource (or all); returns how many."""
        closed = 0
        for active in list(self.watches):
            if plural is not None and active.watcher.rtype.plural != plural:
                continue
            active.watcher.close("end" if graceful else "drop")
            if not graceful and active.request.transport is not None:
                active.request.transport.abort()
            closed += 1
        return closed
