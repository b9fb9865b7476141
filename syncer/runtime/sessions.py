"""The HTTP session under a kubernetes-asyncio client, replaced by one that skips a costly lookup.

Why a module of its own: this reaches into kubernetes-asyncio's internals (``rest_client``,
its ``pool_manager`` session and ``proxy``, ``update_params_for_auth``), which may change with
any release of that library.
Everything that depends on them is here, so an upgrade is checked in one place, and
:mod:`syncer.runtime.clients` only asks for a ready client.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
from kubernetes_asyncio import client as k8s


async def api_client(configuration: k8s.Configuration) -> k8s.ApiClient:
    """A kubernetes-asyncio client for ``configuration`` whose session reads no environment."""
    client = k8s.ApiClient(configuration)
    await read_environment_once(client, configuration)
    return client


async def read_environment_once(
    api_client: k8s.ApiClient, configuration: k8s.Configuration
) -> None:
    """Read proxy settings once instead of on every request.

    kubernetes-asyncio opens its aiohttp session with ``trust_env=True``, so aiohttp consults
    ``.netrc`` and the proxy variables in worker threads for *every* request: two thread-pool
    round trips that cost about as much CPU as the rest of a write. The proxy that applies to
    this API server is resolved here, once, and the session replaced by one that does not look.
    """
    proxy: str | None = configuration.proxy
    if not proxy:
        url = urllib.parse.urlsplit(str(configuration.host))
        if url.hostname and not urllib.request.proxy_bypass(url.hostname):
            proxy = urllib.request.getproxies().get(url.scheme)
    rest = api_client.rest_client
    if proxy:
        rest.proxy = proxy
    old: aiohttp.ClientSession = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(
        connector=old.connector,
        connector_owner=True,
        trust_env=False,
        read_bufsize=2**21,  # as kubernetes-asyncio: large watch events
    )
    old.detach()


async def send(
    api: k8s.ApiClient,
    method: str,
    path: str,
    *,
    query: list[tuple[str, Any]] | None,
    body: Mapping[str, Any] | None,
    content_type: str,
    request_timeout: float | aiohttp.ClientTimeout,
) -> aiohttp.ClientResponse:
    """One request through ``api``'s REST layer; the response is returned unread.

    kubernetes-asyncio's own call path first rebuilds every body and header dict through its
    model serializer (a recursive walk costing more than the HTTP request itself); the bodies
    here are plain JSON already, so requests go straight to its REST client, with its
    authentication (token refresh included) and connection settings.
    """
    headers = {**api.default_headers, "Accept": "application/json", "Content-Type": content_type}
    query_params = list(query or [])
    await api.update_params_for_auth(headers, query_params, ["BearerToken"])
    response: aiohttp.ClientResponse = await api.rest_client.request(
        method,
        f"{api.configuration.host}{path}",
        query_params=cast(Any, query_params),  # urlencoded; repeated keys need pairs
        headers=headers,
        body=body,
        _preload_content=False,
        _request_timeout=request_timeout,
    )
    return response
