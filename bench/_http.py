"""The benchmarks' virtual policies, and seeding and reading them over plain HTTP.

Every request carries the target server's ``http`` options (TLS context and token on the real
backend), so the same helpers serve kubesim and kube-apiserver.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import aiohttp

from bench._servers import Counts, Server
from translate import markers

VCLUSTER: Final = "bench"
HOST_NAMESPACE: Final = "vcluster-bench"
VIRTUAL_NAMESPACES: Final = 20
"""Virtual namespaces the policies are spread over (tenant-00 ... tenant-19)."""
SEQ_ANNOTATION: Final = "bench.netpol-syncer.io/seq"
"""Annotation the latency benchmark bumps; the syncer copies it to the host copy."""
SEED_CONCURRENCY: Final = 64
WRITE_VERBS: Final = frozenset({"create", "update", "patch", "delete", "deletecollection"})
POLICIES: Final = "networkpolicies"

Json = dict[str, Any]


def virtual_namespace(i: int) -> str:
    return f"tenant-{i % VIRTUAL_NAMESPACES:02d}"


def virtual_policy(i: int) -> Json:
    """Policy number ``i``: a realistic mix of pod, namespace and ipBlock peers, and ports."""
    app = f"app-{i % 50}"
    ingress_from: list[Json] = [
        {"podSelector": {"matchLabels": {"role": "frontend", "app": app}}},
        {
            "namespaceSelector": {"matchLabels": {"team": f"team-{i % 7}"}},
            "podSelector": {
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]
            },
        },
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"np-{i:06d}",
            "namespace": virtual_namespace(i),
            "labels": {"app": app, "team": f"team-{i % 7}"},
            "annotations": {"owner": f"team-{i % 7}@example.com"},
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": app}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": ingress_from,
                    "ports": [
                        {"port": 8080, "protocol": "TCP"},
                        {"port": "http", "protocol": "TCP"},
                    ],
                }
            ],
            "egress": [
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]},
                {"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]},
            ],
        },
    }


def namespace_object(name: str) -> Json:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def collection(namespace: str | None) -> str:
    if namespace is None:
        return "/apis/networking.k8s.io/v1/networkpolicies"
    return f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"


def writes(before: Counts, after: Counts, resource: str | None = None) -> dict[str, int]:
    """Write requests between two counter snapshots, by ``verb resource`` (non-zero only)."""
    out: dict[str, int] = {}
    for (verb, res), n in after.items():
        if verb in WRITE_VERBS and (resource is None or res == resource):
            change = n - before.get((verb, res), 0)
            if change:
                out[f"{verb} {res}"] = change
    return out


def delta(before: Counts, after: Counts, verb: str, resource: str = POLICIES) -> int:
    return after.get((verb, resource), 0) - before.get((verb, resource), 0)


def client_session(concurrency: int = SEED_CONCURRENCY) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def post_all(
    session: aiohttp.ClientSession,
    server: Server,
    objects: Iterable[Json],
    *,
    concurrency: int = SEED_CONCURRENCY,
    path: Callable[[Json], str] | None = None,
) -> None:
    """POST every object (to its namespace's collection) with ``concurrency`` in flight."""
    pending = iter(objects)
    where = path or (lambda obj: collection(obj["metadata"]["namespace"]))
    headers = {**server.http.get("headers", {}), "Content-Type": "application/json"}
    options = {**server.http, "headers": headers}

    async def worker() -> None:
        for obj in pending:
            body = json.dumps(obj).encode()
            async with session.post(server.url + where(obj), data=body, **options) as response:
                if response.status not in (200, 201):
                    text = await response.text()
                    raise RuntimeError(f"POST failed: {response.status} {text[:300]}")
                await response.read()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def create_namespaces(
    session: aiohttp.ClientSession, server: Server, names: Iterable[str]
) -> None:
    for name in names:
        async with session.post(
            server.url + "/api/v1/namespaces", json=namespace_object(name), **server.http
        ) as r:
            if r.status not in (201, 409):
                raise RuntimeError(f"namespace {name}: {r.status} {await r.text()}")


async def seed_virtual(session: aiohttp.ClientSession, server: Server, count: int) -> float:
    """Create the virtual namespaces and ``count`` policies; returns the seconds it took."""
    started = time.perf_counter()
    await create_namespaces(
        session, server, (virtual_namespace(i) for i in range(VIRTUAL_NAMESPACES))
    )
    await post_all(session, server, (virtual_policy(i) for i in range(count)))
    return time.perf_counter() - started


async def list_policies(
    session: aiohttp.ClientSession,
    server: Server,
    namespace: str | None,
    params: dict[str, str] | None = None,
) -> Json:
    url = server.url + collection(namespace)
    async with session.get(url, params=params or {}, **server.http) as response:
        response.raise_for_status()
        body: Json = await response.json()
    return body


async def read_policies(
    session: aiohttp.ClientSession,
    server: Server,
    namespace: str | None,
    params: dict[str, str] | None = None,
) -> bytes:
    """The raw LIST body (the memory benchmark parses it as the informer would)."""
    url = server.url + collection(namespace)
    async with session.get(url, params=params or {}, **server.http) as response:
        response.raise_for_status()
        return await response.read()


async def count_host_copies(session: aiohttp.ClientSession, host: Server) -> int:
    params = {"labelSelector": f"{markers.MANAGED_BY}={VCLUSTER}"}
    return len((await list_policies(session, host, HOST_NAMESPACE, params))["items"])
