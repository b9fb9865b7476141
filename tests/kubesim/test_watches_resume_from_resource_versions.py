"""WATCH: start from a list's version, resume after drops, 410 after compaction, bookmarks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy, wait_for


async def _collect(stream: Any, count: int, within: float = 5.0) -> list[dict[str, Any]]:
    """The next ``count`` events of a watch stream, failing after ``within`` seconds."""
    events: list[dict[str, Any]] = []

    async def run() -> None:
        async for event in stream:
            events.append(event)
            if len(events) >= count:
                return

    await asyncio.wait_for(run(), within)
    return events


async def test_watch_from_the_list_version_sees_exactly_later_changes(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """LIST then WATCH from its resourceVersion delivers only what happened after the list."""
    api.store.create(network_policy("before"))
    listed = await net.list_namespaced_network_policy("default")
    api.store.create(network_policy("after"))
    api.store.patch("networkpolicies", "default", "before", {"metadata": {"labels": {"x": "1"}}})
    api.store.delete("networkpolicies", "default", "after")
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=5,
        )
        events = await _collect(stream, 3)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "after"),
        ("MODIFIED", "before"),
        ("DELETED", "after"),
    ]
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions)
    assert versions[0] > int(listed.metadata.resource_version)


async def test_watch_without_version_starts_with_the_current_state(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """No resourceVersion means synthetic ADDED events for existing objects, then live ones."""
    api.store.create(network_policy("existing"))
    async with watch.Watch() as w:
        stream = w.stream(net.list_namespaced_network_policy, "default", timeout_seconds=5)
        first = await _collect(stream, 1)
        api.store.create(network_policy("live"))
        second = await _collect(stream, 1)
    assert first[0]["type"] == "ADDED"
    assert first[0]["object"].metadata.name == "existing"
    assert second[0]["object"].metadata.name == "live"


async def test_resuming_after_a_dropped_watch_misses_nothing_and_needs_no_relist(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """After an abrupt drop, re-watching from the last seen version replays the gap."""
    listed = await net.list_namespaced_network_policy("default")
    last_rv = listed.metadata.resource_version
    seen: list[str] = []
    w = watch.Watch()
    stream = w.stream(
        net.list_namespaced_network_policy, "default", resource_version=last_rv, timeout_seconds=30
    )
    api.store.create(network_policy("one"))
    events = await _collect(stream, 1)
    seen += [e["object"].metadata.name for e in events]
    last_rv = events[-1]["object"].metadata.resource_version
    assert api.faults.drop_watches("networkpolicies") == 1
    with pytest.raises(
        (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, asyncio.IncompleteReadError)
    ):
        await _collect(stream, 1)
    await w.close()
    api.store.create(network_policy("two"))
    api.store.create(network_policy("three"))
    lists_before = api.counters["list", "networkpolicies"]
    async with watch.Watch() as w2:
        resumed = w2.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=last_rv,
            timeout_seconds=5,
        )
        seen += [e["object"].metadata.name for e in await _collect(resumed, 2)]
    assert seen == ["one", "two", "three"]
    assert api.counters["list", "networkpolicies"] == lists_before


async def test_watch_from_a_compacted_version_gets_410_as_an_error_event(
    api: KubeSim, net: client.NetworkingV1Api, k8s: client.ApiClient
) -> None:
    """Too old a version is HTTP 200 plus an ERROR event (Status 410); the client raises 410."""
    listed = await net.list_namespaced_network_policy("default")
    api.store.create(network_policy("np"))
    api.faults.compact("networkpolicies")
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=5,
        )
        with pytest.raises(ApiException) as caught:
            await _collect(stream, 1)
    assert caught.value.status == 410
    url = f"{api.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
    params = {"watch": "true", "resourceVersion": listed.metadata.resource_version}
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
        assert resp.status == 200
        line = json.loads(await resp.content.readline())
    assert line["type"] == "ERROR"
    assert line["object"]["code"] == 410
    assert line["object"]["reason"] == "Expired"
    assert line["object"]["message"].startswith("too old resource version:")


async def test_history_bound_compacts_old_versions(net: client.NetworkingV1Api) -> None:
    """With a small history, a watch from before the kept window gets 410."""
    async with KubeSim(history=3) as small:
        small.store.create(network_policy("p0"))
        start = small.store.resource_version
        for i in range(1, 6):
            small.store.create(network_policy(f"p{i}"))
        async with aiohttp.ClientSession() as session:
            url = f"{small.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
            params = {"watch": "1", "resourceVersion": str(start), "timeoutSeconds": "1"}
            async with session.get(url, params=params) as resp:
                assert json.loads(await resp.content.readline())["object"]["code"] == 410
            params["resourceVersion"] = str(small.store.resource_version - 2)
            async with session.get(url, params=params) as resp:
                lines = [json.loads(await resp.content.readline()) for _ in range(2)]
            assert [line["object"]["metadata"]["name"] for line in lines] == ["p4", "p5"]


async def test_bookmarks_carry_the_current_version(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """With allowWatchBookmarks, idle watches receive BOOKMARK events at the latest version."""
    listed = await net.list_namespaced_network_policy("default")
    api.store.create(network_policy("x", "kube-system"))
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_namespaced_network_policy,
            "default",
            resource_version=listed.metadata.resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=5,
        )
        events = await _collect(stream, 1)
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["raw_object"]["metadata"]["resourceVersion"] == str(api.store.resource_version)
    assert events[0]["raw_object"]["kind"] == "NetworkPolicy"
    assert w.resource_version == str(api.store.resource_version)


async def test_no_bookmarks_unless_asked(api: KubeSim) -> None:
    """Without allowWatchBookmarks the stream stays silent while nothing changes."""
    url = f"{api.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
    params = {"watch": "1", "resourceVersion": str(api.store.resource_version)}
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(resp.content.readline(), 0.35)  # > 3 bookmark intervals


async def test_selector_transitions_become_added_and_deleted(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """An object entering a watch's selector is ADDED to it, leaving it is DELETED."""
    api.store.create(network_policy("np"))
    start = str(api.store.resource_version)
    api.store.patch(
        "networkpolicies", "default", "np", {"metadata": {"labels": {"managed-by": "vc"}}}
    )
    api.store.patch(
        "networkpolicies", "default", "np", {"metadata": {"labels": {"managed-by": "vc", "x": "1"}}}
    )
    api.store.patch("networkpolicies", "default", "np", {"metadata": {"labels": None}})
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_namespaced_network_policy,
            "default",
            label_selector="managed-by=vc",
            resource_version=start,
            timeout_seconds=5,
        )
        events = await _collect(stream, 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]


async def test_watch_ends_after_timeout_seconds(api: KubeSim) -> None:
    """The server closes the stream cleanly once timeoutSeconds elapse."""
    url = f"{api.url}/apis/networking.k8s.io/v1/networkpolicies"
    params = {"watch": "true", "resourceVersion": "0", "timeoutSeconds": "1"}
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
        await resp.read()
    assert 0.9 <= loop.time() - started < 3


async def test_send_initial_events_ends_with_an_annotated_bookmark(api: KubeSim) -> None:
    """``sendInitialEvents=true`` streams the state, then a bookmark marking its end."""
    api.store.create(network_policy("a"))
    api.store.create(network_policy("b"))
    url = f"{api.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
    params = {
        "watch": "true",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "1",
    }
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
        lines = [json.loads(await resp.content.readline()) for _ in range(3)]
    assert [line["type"] for line in lines] == ["ADDED", "ADDED", "BOOKMARK"]
    assert lines[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_legacy_watch_path_watches_one_object(api: KubeSim) -> None:
    """``/watch/namespaces/ns/networkpolicies/name`` streams only that object."""
    api.store.create(network_policy("a"))
    api.store.create(network_policy("b"))
    url = f"{api.url}/apis/networking.k8s.io/v1/watch/namespaces/default/networkpolicies/b"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        first = json.loads(await resp.content.readline())
        api.store.patch("networkpolicies", "default", "a", {"metadata": {"labels": {"x": "1"}}})
        api.store.patch("networkpolicies", "default", "b", {"metadata": {"labels": {"x": "1"}}})
        second = json.loads(await resp.content.readline())
    assert first["object"]["metadata"]["name"] == "b"
    assert (second["type"], second["object"]["metadata"]["name"]) == ("MODIFIED", "b")
    assert api.counters["watch", "networkpolicies"] == 1


async def test_watch_across_namespaces_and_open_watch_count(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A cluster-wide watch sees every namespace; ``open_watches`` tracks live streams."""
    start = str(api.store.resource_version)
    async with watch.Watch() as w:
        stream = w.stream(
            net.list_network_policy_for_all_namespaces, resource_version=start, timeout_seconds=5
        )
        api.store.create(network_policy("a", "kube-system"))
        api.store.create(network_policy("b", "default"))
        events = await _collect(stream, 2)
        assert api.open_watches == 1
    assert {e["object"].metadata.namespace for e in events} == {"kube-system", "default"}
    await wait_for(lambda: api.open_watches == 0)
