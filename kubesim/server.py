"""``KubeSim``: one simulated cluster served over HTTP(S) on a local port.

This module owns the lifecycle (listen, outage, restart, stop) and wires the parts together:
registry, storage, the direct ``store`` facade, RBAC, faults, counters and the aiohttp request
handler. It uses aiohttp's low-level server (no routing table, no middlewares) because the
handler does its own Kubernetes-style routing and the benchmark target is thousands of
requests per second in the same process as the controller under test.

Outage and restart close the listening socket and abort every open connection (watches
included) while keeping all state; listening resumes on the same port, so clients reconnect
with the kubeconfig they already have.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from kubesim import kubeconfig, resources
from kubesim.counters import Counters
from kubesim.direct import DirectStore
from kubesim.faults import Faults
from kubesim.handlers import Api
from kubesim.rbac import Authorizer, Denial
from kubesim.resources import Registry, ResourceType
from kubesim.storage import DEFAULT_HISTORY, Storage

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""Namespaces a fresh cluster has."""

DEFAULT_BOOKMARK_INTERVAL = 60.0
"""Seconds between watch bookmarks; upstream sends them about once a minute."""

MAX_BODY = 3 * 1024 * 1024
"""Largest accepted request body; upstream's limit is about 3 MiB."""


class KubeSim:
    """An in-process Kubernetes API server emulator.

    ::

        async with KubeSim() as api:
            api.url, api.kubeconfig(), api.store.create({...}), api.faults.fail(...)

    ``rbac`` maps bearer tokens to rules (see :mod:`kubesim.rbac`); ``None`` disables
    authentication and authorization. ``history`` bounds the watch history per resource;
    ``bookmark_interval`` is the seconds between bookmarks on watches that allow them.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        rbac: Mapping[str, Any] | None = None,
        history: int = DEFAULT_HISTORY,
        bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL,
        namespaces: Iterable[str] = DEFAULT_NAMESPACES,
        kinds: Iterable[ResourceType] = (),
    ) -> None:
        self.host = host
        self._port = port
        self.tls = tls
        self.registry = Registry([*resources.builtin_types(), *kinds])
        self.storage = Storage(self.registry, history=history)
        self.storage.seed_namespaces(namespaces)
        self.store = DirectStore(self.storage, self.registry)
        self.counters = Counters()
        self.authorizer = Authorizer(rbac)
        self.faults = Faults(
            resolve=self._plural,
            drop_watches=lambda plural, graceful: self._api.close_watches(
                plural, graceful=graceful
            ),
            compact=lambda plural: self.storage.compact(
                None if plural is None else self.registry.resolve(plural)
            ),
            stall_watches=lambda plural, token: self._api.stall_watches(plural, token),
        )
        self._api = Api(
            storage=self.storage,
            registry=self.registry,
            authorizer=self.authorizer,
            faults=self.faults,
            counters=self.counters,
            bookmark_interval=bookmark_interval,
            server_address=lambda: f"{self.host}:{self.port}",
        )
        self._tls_material = kubeconfig.make_tls(host) if tls else None
        self._web: web.Server | None = None
        self._listener: asyncio.Server | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> KubeSim:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start listening (binds an ephemeral port when ``port=0``)."""
        if self._web is None:
            self._web = web.Server(
                self._api,
                request_factory=self._make_request,
                handler_cancellation=True,
                access_log=None,
            )
        await self._listen()

    async def stop(self) -> None:
        """Stop listening and drop every connection; the state stays in memory."""
        await self._close()

    def _make_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: Any,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        return web.BaseRequest(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=MAX_BODY,
        )

    async def _listen(self) -> None:
        if self._listener is not None:
            return
        assert self._web is not None
        loop = asyncio.get_running_loop()
        ssl_context = self._tls_material.context if self._tls_material else None
        self._listener = await loop.create_server(
            self._web, self.host, self._port, ssl=ssl_context, reuse_address=True, backlog=1024
        )
        if self._port == 0:
            self._port = self._listener.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        self._api.close_watches()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._web is not None:
            for connection in self._web.connections:
                connection.force_close()
                transport = connection.transport
                if transport is not None:
                    transport.abort()
        if listener is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), 1.0)
        await asyncio.sleep(0)

    @contextlib.asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """While inside, connections to the port are refused; state is kept."""
        await self._close()
        try:
            yield
        finally:
            await self._listen()

    async def restart(self) -> None:
        """Drop all connections and listen again on the same port, keeping the state."""
        await self._close()
        await self._listen()

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._listener is not None

    # --- addresses and client configuration ---------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (valid after :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (``https`` with TLS)."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self._port}"

    @property
    def ca_pem(self) -> bytes | None:
        """The CA certificate clients must trust (TLS only)."""
        return self._tls_material.ca_pem if self._tls_material else None

    def kubeconfig(
        self, token: str | None = None, *, namespace: str | None = None
    ) -> dict[str, Any]:
        """A kubeconfig dict for this server (CA data included with TLS)."""
        return kubeconfig.build(self.url, token=token, ca_pem=self.ca_pem, namespace=namespace)

    def write_kubeconfig(
        self,
        path: str | os.PathLike[str],
        token: str | None = None,
        *,
        namespace: str | None = None,
    ) -> Path:
        """Write :meth:`kubeconfig` as YAML to ``path`` and return the path."""
        return kubeconfig.write(self.kubeconfig(token, namespace=namespace), path)

    # --- extension and inspection -------------------------------------------------------------

    def register(self, api_version: str, kind: str, **options: Any) -> ResourceType:
        """Serve a custom kind: ``api.register("monitoring.coreos.com/v1", "ServiceMonitor")``.

        Options are those of :func:`kubesim.resources.custom` (``plural``, ``namespaced``, ...).
        """
        return self.registry.register(resources.custom(api_version, kind, **options))

    def grant(self, token: str, rules: Any) -> None:
        """Add a bearer token (turns RBAC on if it was off)."""
        self.authorizer.grant(token, rules)

    @property
    def denied(self) -> list[Denial]:
        """Every request RBAC refused so far (oldest first)."""
        return self._api.denied

    @property
    def open_watches(self) -> int:
        """How many watch streams are currently open."""
        return len(self._api.watches)

    def _plural(self, name: str) -> str:
        try:
            return self.registry.resolve(name).plural
        except KeyError:
            return name
