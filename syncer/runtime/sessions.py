"""The HTTP session under a kubernetes-asyncio client, replaced by one that skips a costly lookup.

Why a module of its own: this reaches into kubernetes-asyncio's internals (``rest_client``,
its ``pool_manager`` session and ``proxy``, ``update_params_for_auth``), which may change with
any release of that library.
Everything that depends on them is here, so an upgrade is checked in one place, and
:mod:`syncer.runtime.clients` only asks for a ready client.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

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
    """One request through ``api``'s session; the response is returned unread.

    kubernetes-asyncio's own call path first rebuilds every body and header dict through its
    model serializer (a recursive walk costing more than the HTTP request itself), and its REST
    client then re-encodes the body as spaced JSON after a regex test of the content type and
    builds a timeout object per request (~4% of the syncer's CPU while converging). The bodies
    here are plain JSON already, so requests go straight to its aiohttp session as compact
    bytes, with its authentication (token refresh included) and connection settings (proxy,
    proxy headers, TLS server name).
    """
    headers = {**api.default_headers, "Accept": "application/json", "Content-Type": content_type}
    query_params = list(query or [])
    await api.update_params_for_auth(headers, query_params, ["BearerToken"])
    url = f"{api.configuration.host}{path}"
    if query_params:
        url += "?" + urllib.parse.urlencode(query_params)  # repeated keys need pairs
    if not isinstance(request_timeout, aiohttp.ClientTimeout):
        request_timeout = aiohttp.ClientTimeout(total=request_timeout)
    options: dict[str, Any] = {"headers": headers, "timeout": request_timeout}
    if body is not None:
        options["data"] = _encode(body).encode()
    rest = api.rest_client
    if rest.proxy:
        options["proxy"] = rest.proxy
    if rest.proxy_headers:
        options["proxy_headers"] = rest.proxy_headers
    if rest.server_hostname:
        options["server_hostname"] = rest.server_hostname
    session: aiohttp.ClientSession = rest.pool_manager
    return await session.request(method, url, **options)


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode
"""Compact JSON: fewer bytes to send and for the server to parse than ``json.dumps``'s."""
