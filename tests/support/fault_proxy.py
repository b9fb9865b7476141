"""An asyncio fault proxy between a client and a real API server.

kubesim injects faults inside the server; a real kube-apiserver cannot, so tests put this
proxy in front of it. It speaks plain HTTP to the client and HTTPS to the server, passes the
client's bearer token through (RBAC still applies to the client's identity), and on the way:

- counts every resource request by (verb, resource) in a :class:`kubesim.counters.Counters`,
  so tests assert on API traffic the same way on both backends;
- answers requests matching a fault of its :class:`kubesim.faults.Faults` (the same API as
  ``KubeSim.faults``) with that status and ``Retry-After``, or holds them (latency);
- drops open watch streams abruptly (connection reset) or gracefully (clean end of stream),
  or stalls them (open and silent, like a half-open connection);
- refuses connections during :meth:`FaultProxy.outage`;
- records 403 answers as :class:`kubesim.rbac.Denial` and shows each DELETE to hooks (the
  delete watchdog) before forwarding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from kubesim import routing
from kubesim.counters import Counters
from kubesim.faults import Faults
from kubesim.rbac import Denial

MAX_BODY = 64 * 1024 * 1024
"""Far above kube-apiserver's own limit (3 MiB), so its 413 is the one clients see."""

DeleteHook = Callable[[routing.RequestInfo, bytes], None]

_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Host",
        "Connection",
        "Keep-Alive",
        "Transfer-Encoding",
        "Content-Length",
        "Accept-Encoding",
        "Content-Encoding",
        "Upgrade",
        "Proxy-Connection",
        "TE",
        "Trailer",
    )
)

__all__ = ["DeleteHook", "FaultProxy"]


@dataclass(eq=False)
class _Watch:
    resource: str
    token: str = ""
    stalled: bool = False
    dropped: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class FaultProxy:
    """``async with FaultProxy(upstream_url, ca_pem) as proxy``: ``proxy.url`` for clients."""

    def __init__(
        self,
        upstream: str,
        ca_pem: bytes,
        *,
        compact: Callable[[], object] | None = None,
        port: int = 0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.counters = Counters()
        self.denied: list[Denial] = []
        self.delete_hooks: list[DeleteHook] = []
        self.faults = Faults(
            resolve=lambda name: name,
            drop_watches=self._drop_watches,
            stall_watches=self._stall_watches,
            compact=lambda _resource: compact() if compact else None,
        )
        self._ssl = ssl.create_default_context(cadata=ca_pem.decode())
        self._port = port
        self._session: aiohttp.ClientSession | None = None
        self._web: web.Server | None = None
        self._listener: asyncio.Server | None = None
        self._watches: set[_Watch] = set()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- lifecycle ---

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                auto_decompress=True,
            )
        if self._web is None:
            self._web = web.Server(
                self._handle,
                request_factory=self._make_request,
                handler_cancellation=True,
                access_log=None,
            )
        await self._listen()

    def refresh_upstream(self) -> None:
        """Forget pooled connections to the server (after it restarted)."""
        old, self._session = self._session, None
        if old is not None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            )
            asyncio.get_running_loop().create_task(old.close())

    def _make_request(
        self, message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        """Requests of any size: the server behind decides what is too large (413)."""
        loop = asyncio.get_running_loop()
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=MAX_BODY
        )

    async def stop(self) -> None:
        await self._close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _listen(self) -> None:
        if self._listener is not None:
            return
        assert self._web is not None
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            self._web, "127.0.0.1", self._port, reuse_address=True, backlog=1024
        )
        if self._port == 0:
            self._port = self._listener.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        self._drop_watches(None, False)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._web is not None:
            for connection in self._web.connections:
                connection.force_close()
                if connection.transport is not None:
                    connection.transport.abort()
        if listener is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), 1.0)
        await asyncio.sleep(0)

    @contextlib.asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """While inside, connections are refused (open ones are reset); the server keeps its
        state."""
        await self._close()
        try:
            yield
        finally:
            await self._listen()

    async def reset_connections(self) -> None:
        """Reset every client connection and listen again (what a server restart looks like)."""
        await self._close()
        await self._listen()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def open_watches(self) -> int:
        return len(self._watches)

    # --- faults ---

    def _drop_watches(self, resource: str | None, graceful: bool) -> int:
        dropped = 0
        for watch in list(self._watches):
            if (resource is None or watch.resource == resource) and not watch.dropped.done():
                watch.dropped.set_result(graceful)
                dropped += 1
        return dropped

    def _stall_watches(self, resource: str | None, token: str | None) -> int:
        """Keep matching streams open but relay nothing more (a half-open connection)."""
        stalled = 0
        for watch in list(self._watches):
            if (resource is None or watch.resource == resource) and (
                token is None or watch.token == token
            ):
                watch.stalled = True
                stalled += 1
        return stalled

    # --- forwarding ---

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        info = routing.parse(request.method, request.path, request.query)
        resource = info.qualified_resource
        if info.is_resource:
            self.counters.record(info.verb, resource)
            verdict = self.faults.check(info)
            if verdict.delay:
                await asyncio.sleep(verdict.delay)
            if verdict.error is not None:
                error = verdict.error
                self.counters.record_response(info.verb, resource, error.code)
                return web.Response(
                    status=error.code,
                    body=error.body(),
                    headers={"Content-Type": "application/json", **error.headers},
                )
        body = await request.read()
        if request.method == "DELETE":
            for hook in self.delete_hooks:
                hook(info, body)
        watch: _Watch | None = None
        if info.verb == "watch":  # open (and stallable) from the moment it is asked for
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            watch = _Watch(resource, token)
            self._watches.add(watch)
        try:
            return await self._forward(request, info, body, watch)
        finally:
            if watch is not None:
                self._watches.discard(watch)

    async def _forward(
        self,
        request: web.BaseRequest,
        info: routing.RequestInfo,
        body: bytes,
        watch: _Watch | None,
    ) -> web.StreamResponse:
        resource = info.qualified_resource
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP
        )
        assert self._session is not None
        try:
            upstream = await self._session.request(
                request.method,
                self.upstream + request.path_qs,
                headers=headers,
                data=body or None,
                allow_redirects=False,
            )
        except aiohttp.ClientError as exc:
            return web.Response(status=502, text=f"kube-apiserver unreachable: {exc}")
        if info.is_resource:
            self.counters.record_response(info.verb, resource, upstream.status)
            if upstream.status == 403:
                self.denied.append(
                    Denial(info.verb, resource, info.namespace, info.name, "", info.group)
                )
        out_headers = CIMultiDict(
            (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
        )
        if watch is None or upstream.status != 200:
            async with upstream:
                data = await upstream.read()
            return web.Response(status=upstream.status, body=data, headers=out_headers)
        return await self._relay_watch(request, upstream, out_headers, watch)

    async def _relay_watch(
        self,
        request: web.BaseRequest,
        upstream: aiohttp.ClientResponse,
        headers: CIMultiDict[str],
        watch: _Watch,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def copy() -> None:
            async for chunk in upstream.content.iter_any():
                if watch.stalled:
                    await asyncio.Event().wait()  # silent until dropped
                await response.write(chunk)

        relay = asyncio.ensure_future(copy())
        try:
            await asyncio.wait({relay, watch.dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._watches.discard(watch)
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await relay
            upstream.close()
        graceful: Any = watch.dropped.result() if watch.dropped.done() else True
        if not graceful and request.transport is not None:
            request.transport.abort()  # a network failure: no terminating chunk
            return response
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response
