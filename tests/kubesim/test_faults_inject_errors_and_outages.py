"""Fault injection: failures with Retry-After, latency, dropped watches, outage, restart."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy, wait_for


async def test_fail_matches_verb_and_resource_for_count_requests(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A counted fault fails exactly that many matching requests, then stops."""
    fault = api.faults.fail(verb="create", resource="networkpolicies", status=500, count=2)
    await net.list_namespaced_network_policy("default")  # not matched
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            await net.create_namespaced_network_policy("default", network_policy("np"))
        assert caught.value.status == 500
        assert json.loads(caught.value.body)["reason"] == "InternalError"
    await net.create_namespaced_network_policy("default", network_policy("np"))
    assert fault.hits == 2
    assert fault not in api.faults.active


async def test_429_carries_retry_after(api: KubeSim) -> None:
    """Injected 429s have the Retry-After header and details.retryAfterSeconds."""
    api.faults.fail(verb="list", status=429, retry_after=3)
    url = f"{api.url}/apis/networking.k8s.io/v1/networkpolicies"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        status = await resp.json()
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "3"
    assert status["reason"] == "TooManyRequests"
    assert status["details"]["retryAfterSeconds"] == 3


async def test_faults_match_namespace_and_name_and_can_be_removed(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """Namespace/name filters narrow a fault; the handle works as a context manager."""
    api.store.create(network_policy("a"))
    api.store.create(network_policy("b"))
    with api.faults.fail(verb="get", namespace="default", name="a", status=503):
        with pytest.raises(ApiException) as caught:
            await net.read_namespaced_network_policy("a", "default")
        assert caught.value.status == 503
        await net.read_namespaced_network_policy("b", "default")
    await net.read_namespaced_network_policy("a", "default")


async def test_delay_adds_latency(api: KubeSim, net: client.NetworkingV1Api) -> None:
    """A delay holds matching requests before serving them."""
    api.faults.delay(0.3, verb="list", resource="netpol")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await net.list_namespaced_network_policy("default")
    assert loop.time() - started >= 0.3
    api.faults.clear()
    started = loop.time()
    await net.list_namespaced_network_policy("default")
    assert loop.time() - started < 0.3


async def test_drop_watches_gracefully_ends_streams(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """``graceful=True`` ends the stream like a server timeout: the client sees a clean end."""
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=str(api.store.resource_version),
            timeout_seconds=10,
        )

        async def drain() -> int:
            return len([e async for e in stream])

        task = asyncio.create_task(drain())
        await wait_for(lambda: api.open_watches == 1)
        assert api.faults.drop_watches(graceful=True) == 1
        assert await asyncio.wait_for(task, 5) == 0


async def test_outage_refuses_connections_and_keeps_state(api: KubeSim) -> None:
    """During an outage the port refuses connections; afterwards the same objects are there."""
    api.store.create(network_policy("np"))
    url = f"{api.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/np"
    async with aiohttp.ClientSession() as session:
        async with api.outage():
            with pytest.raises(aiohttp.ClientConnectorError):
                async with session.get(url):
                    pass
        async with session.get(url) as resp:
            assert resp.status == 200


async def test_restart_drops_connections_and_keeps_the_port(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A restart closes open watches; the port, objects and versions survive."""
    port = api.port
    created = api.store.create(network_policy("np"))
    w = watch.Watch()
    stream = w.stream(
        net.list_namespaced_network_policy, "default", resource_version="0", timeout_seconds=30
    )
    first = await stream.__anext__()
    assert first["object"].metadata.name == "np"
    await api.restart()
    with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
        await asyncio.wait_for(stream.__anext__(), 5)
    await w.close()
    assert api.port == port
    again = await net.read_namespaced_network_policy("np", "default")
    assert again.metadata.resource_version == created["metadata"]["resourceVersion"]


async def test_counters_track_requests_per_verb_and_resource(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """Each request counts once under its Kubernetes verb, whatever the outcome."""
    await net.create_namespaced_network_policy("default", network_policy("np"))
    await net.read_namespaced_network_policy("np", "default")
    await net.list_namespaced_network_policy("default")
    with pytest.raises(ApiException):
        await net.read_namespaced_network_policy("missing", "default")
    assert api.counters["create", "networkpolicies"] == 1
    assert api.counters["get", "networkpolicies"] == 2
    assert api.counters.get("list") == 1
    assert api.counters.responses()[("get", "networkpolicies", 404)] == 1
    snapshot = api.counters.snapshot()
    api.counters.reset()
    assert api.counters.total() == 0
    assert snapshot[("list", "networkpolicies")] == 1


async def test_stalled_watches_stay_open_and_deliver_nothing(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A stalled stream (a half-open connection) delivers no events and does not end at its
    timeout; once dropped, a watch from the last seen version gets what it missed."""
    start = str(api.store.resource_version)
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=start,
            timeout_seconds=1,
        )
        seen: list[str] = []

        async def drain() -> None:
            async for event in stream:
                seen.append(event["object"].metadata.name)

        task = asyncio.create_task(drain())
        await wait_for(lambda: api.open_watches == 1)
        assert api.faults.stall_watches("networkpolicies") == 1
        api.store.create(network_policy("missed"))
        done, _ = await asyncio.wait({task}, timeout=1.5)
        assert not done
        assert seen == []
        assert api.faults.drop_watches() == 1
        await asyncio.wait({task}, timeout=5)
        assert task.done()
        assert seen == []
    async with watch.Watch() as w:
        again = w.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=start,
            timeout_seconds=1,
        )
        assert [e["object"].metadata.name async for e in again] == ["missed"]
