"""One cluster's API, reduced to the calls this syncer makes, returning plain JSON dicts.

kubernetes-asyncio does configuration (kubeconfig, in-cluster service account, token refresh),
TLS, authentication and request building. Responses are read raw (``_preload_content=False``)
and parsed with :mod:`json`: the generated model classes cost more CPU than the whole
translation, and the core works on dicts anyway. Every request goes through :meth:`KubeApi._call`,
which applies the client-side rate limit, the timeout, the metrics observer and the mapping of
failures to :mod:`syncer.runtime.errors`.

A kubeconfig file can be missing at start (vCluster writes its Secret only once its controllers
run) and can be replaced while the syncer runs (the Secret is rotated):
:func:`kubeconfigs.load_configuration` raises :class:`KubeconfigError` for the first, and
:meth:`KubeApi.reconnect` swaps the underlying client in place for the second, so every
holder of the :class:`KubeApi` (informer, reconciler, event recorder, elector) uses the new
credentials from its next request on. What touches kubernetes-asyncio's internals (its HTTP
session, its REST layer) is in :mod:`syncer.runtime.sessions`.

About 380 lines: one class with one method per API call the syncer makes, and the request
plumbing they share; split, each call would sit apart from the error mapping it relies on.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

import aiohttp
import ijson
from kubernetes_asyncio import client as k8s

from syncer.runtime import errors, kubeconfigs, sessions
from syncer.runtime.kubeconfigs import KubeconfigError as KubeconfigError
from syncer.runtime.sessions import read_environment_once as read_environment_once

Verb = Literal["get", "list", "watch", "create", "update", "patch", "delete"]
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Resource:
    """Where a kind lives in the REST tree."""

    prefix: str
    """``/api/v1`` for the core group, ``/apis/<group>/<version>`` otherwise."""
    plural: str

    def path(self, namespace: str | None, name: str | None = None) -> str:
        parts = [self.prefix]
        if namespace is not None:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
        return "/".join(parts)


NETWORK_POLICIES = Resource("/apis/networking.k8s.io/v1", "networkpolicies")
EVENTS = Resource("/api/v1", "events")
LEASES = Resource("/apis/coordination.k8s.io/v1", "leases")
SERVICES = Resource("/api/v1", "services")


class ListPage:
    """A LIST response, read but not parsed as a whole.

    A list of 10,000 policies is ~20 MB of JSON; parsed at once it becomes ~100 MB of dicts
    that all live until the last one is stored, and the heap keeps that high-water mark long
    after. ``items()`` parses one object at a time (ijson's C backend, as fast as
    :func:`json.loads`), so the informer stores each before the next exists.
    """

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    @property
    def metadata(self) -> Json:
        """The list's ``metadata`` (resourceVersion, continue)."""
        for found in ijson.items(io.BytesIO(self._body), "metadata", use_float=True):
            return dict(found)
        return {}

    def items(self) -> Iterator[Json]:
        """The list's objects, parsed one by one."""
        return cast(
            Iterator[Json], ijson.items(io.BytesIO(self._body), "items.item", use_float=True)
        )


class RequestObserver(Protocol):
    """Receives one call per finished request (the metrics module implements it)."""

    def observe_api(self, cluster: str, verb: str, code: str, seconds: float) -> None: ...


Throttle = Callable[[], Awaitable[None]]
"""Awaited before every request; sleeps as long as the client-side rate limit demands."""


class KubeApi:
    """A connection to one cluster (``virtual`` or ``host``), used by informers and writers."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        cluster: str,
        timeout: float,
        throttle: Throttle | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self._api = api_client
        self.cluster = cluster
        self._timeout = timeout
        self._throttle = throttle
        self._observer = observer

    @classmethod
    async def connect(
        cls,
        kubeconfig: str | Mapping[str, Any] | None,
        *,
        cluster: str,
        request_timeout: float = 30.0,
        throttle: Throttle | None = None,
        observer: RequestObserver | None = None,
        context: str | None = None,
    ) -> KubeApi:
        """Client from a kubeconfig path, a kubeconfig dict, or (``None``) the pod's service
        account (:class:`KubeconfigError` if it cannot be used). Connection pool size follows
        kubernetes-asyncio's default (100)."""
        configuration = await kubeconfigs.load_configuration(kubeconfig, context=context)
        return cls(
            await sessions.api_client(configuration),
            cluster=cluster,
            timeout=request_timeout,
            throttle=throttle,
            observer=observer,
        )

    async def close(self) -> None:
        await self._api.close()

    @property
    def server(self) -> str:
        """The API server's base URL."""
        return str(self._api.configuration.host)

    async def reconnect(
        self, kubeconfig: str | Mapping[str, Any] | None, *, context: str | None = None
    ) -> bool:
        """Use a new kubeconfig from the next request on; returns whether the server changed.

        Raises :class:`KubeconfigError` (the current client stays) if it cannot be used. The
        old client is closed, so requests and watches still on it fail and are retried.
        """
        configuration = await kubeconfigs.load_configuration(kubeconfig, context=context)
        old, self._api = self._api, await sessions.api_client(configuration)
        await old.close()
        return str(old.configuration.host) != str(configuration.host)

    async def __aenter__(self) -> KubeApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the calls -------------------------------------------------------------------------

    async def list_page(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        """One page of a LIST (the informer follows ``metadata.continue``)."""
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if limit:
            query.append(("limit", limit))
        if continue_token:
            query.append(("continue", continue_token))
        path = resource.path(namespace)
        return ListPage(await self._read("list", "GET", path, query=query))

    @asynccontextmanager
    async def watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[AsyncIterator[Json]]:
        """Open a WATCH from ``resource_version`` with bookmarks; yields the event iterator.

        Events come as the API sends them (``{"type": ..., "object": ...}``); an ``ERROR`` event
        is raised as the typed error (410 becomes :class:`errors.Gone`). The stream ends when
        the server closes it (``timeoutSeconds``) or raises :class:`errors.Unreachable` when
        the connection breaks.
        """
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", timeout_seconds),
        ]
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        # The server ends the stream after timeout_seconds; a read that stalls much longer
        # than that means a dead connection that TCP has not noticed.
        read_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._timeout, sock_read=timeout_seconds + self._timeout
        )
        response = await self._send(
            "watch", "GET", resource.path(namespace), query=query, read_timeout=read_timeout
        )
        try:
            yield self._events(response)
        finally:
            response.close()

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Json:
        return await self._json("get", "GET", resource.path(namespace, name))

    async def create(
        self, resource: Resource, namespace: str | None, body: Mapping[str, Any]
    ) -> Json:
        return await self._json("create", "POST", resource.path(namespace), body=body)

    async def replace(
        self, resource: Resource, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> Json:
        """PUT; ``body.metadata.resourceVersion`` makes it conditional (409 when stale)."""
        return await self._json("update", "PUT", resource.path(namespace, name), body=body)

    async def merge_patch(
        self, resource: Resource, namespace: str | None, name: str, patch: Mapping[str, Any]
    ) -> Json:
        return await self._json(
            "patch",
            "PATCH",
            resource.path(namespace, name),
            body=patch,
            content_type="application/merge-patch+json",
        )

    async def delete(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> None:
        """DELETE with preconditions, so an object replaced in the meantime is never removed."""
        preconditions = {
            k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v
        }
        body: Json = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if preconditions:
            body["preconditions"] = preconditions
        await self._json("delete", "DELETE", resource.path(namespace, name), body=body)

    # -- plumbing --------------------------------------------------------------------------

    async def _json(
        self,
        verb: Verb,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> Json:
        payload = await self._read(
            verb, method, path, query=query, body=body, content_type=content_type
        )
        parsed = json.loads(payload) if payload else {}
        if not isinstance(parsed, dict):
            raise errors.ApiError(500, message=f"unexpected body for {verb} {path}")
        return parsed

    async def _read(
        self,
        verb: Verb,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        response = await self._send(
            verb, method, path, query=query, body=body, content_type=content_type
        )
        try:
            return await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise errors.Unreachable(f"{self.cluster}: {verb} {path}: {exc!r}") from exc
        finally:
            response.release()

    async def _send(
        self,
        verb: Verb,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        read_timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        """Send one request; returns the open response (2xx) or raises the typed error."""
        if self._throttle is not None:
            await self._throttle()
        started = time.perf_counter()
        code = "error"
        try:
            response = await sessions.send(
                self._api,  # one client per request, even if reconnect() swaps it meanwhile
                method,
                path,
                query=query,
                body=body,
                content_type=content_type,
                request_timeout=read_timeout or self._timeout,
            )
            code = str(response.status)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise errors.Unreachable(f"{self.cluster}: {verb} {path}: {exc!r}") from exc
        finally:
            if self._observer is not None:
                self._observer.observe_api(self.cluster, verb, code, time.perf_counter() - started)
        if response.status >= 300:
            try:
                payload = await response.read()
            except (TimeoutError, aiohttp.ClientError):
                payload = b""
            finally:
                response.release()
            raise errors.from_response(response.status, payload, response.headers)
        return response

    async def _events(self, response: aiohttp.ClientResponse) -> AsyncIterator[Json]:
        try:
            while True:
                line = await response.content.readline()
                if not line:
                    return
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise errors.from_response(
                        int(status.get("code") or 500), json.dumps(status), {}
                    )
                yield event
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise errors.Unreachable(f"{self.cluster}: watch stream broke: {exc!r}") from exc
