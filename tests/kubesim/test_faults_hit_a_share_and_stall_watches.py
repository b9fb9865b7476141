"""Fault injection for campaigns: a seeded share of requests fails; watches stall half-open."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest

from kubesim import KubeSim
from kubesim.testing import network_policy, wait_for

URL = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"


async def _statuses(api: KubeSim, n: int) -> list[int]:
    async with aiohttp.ClientSession() as session:
        out = []
        for _ in range(n):
            async with session.get(api.url + URL) as response:
                out.append(response.status)
        return out


async def test_a_partial_fault_fails_a_seeded_share_of_requests(api: KubeSim) -> None:
    """``probability=0.25`` fails about a quarter of the requests, the same ones per seed."""
    api.faults.seed(3)
    fault = api.faults.fail(verb="list", status=500, probability=0.25)
    first = await _statuses(api, 200)
    assert 25 <= first.count(500) <= 75
    assert fault.hits == first.count(500)
    api.faults.seed(3)
    assert await _statuses(api, 200) == first


def test_a_probability_outside_the_unit_interval_is_refused(api: KubeSim) -> None:
    """0 or more than 1 is a mistake, not a fault that never or always fires."""
    for wrong in (0.0, 1.5):
        with pytest.raises(ValueError, match="probability"):
            api.faults.fail(probability=wrong)


async def _watch(api: KubeSim, token: str | None, lines: list[dict[str, object]]) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": "1"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(api.url + URL, params=params) as response,
    ):
        async for line in response.content:
            lines.append(json.loads(line))


async def test_a_stalled_watch_stays_open_and_silent(api: KubeSim) -> None:
    """Only the stalled client's stream goes silent (no events, no bookmarks, no end at its
    timeout); the other stream goes on, and ``drop_watches`` finally breaks the stalled one."""
    stalled: list[dict[str, object]] = []
    healthy: list[dict[str, object]] = []
    tasks = [
        asyncio.create_task(_watch(api, "standby", stalled)),
        asyncio.create_task(_watch(api, "leader", healthy)),
    ]
    await wait_for(lambda: api.open_watches == 2)
    assert api.faults.stall_watches("networkpolicies", token="standby") == 1
    before = list(stalled)  # bookmarks sent before the stall
    api.store.create(network_policy("np"))
    await wait_for(lambda: any(e["type"] == "ADDED" for e in healthy))
    await asyncio.wait_for(tasks[1], 5)  # ended by its 1 s timeout
    await asyncio.sleep(1.5)
    assert not tasks[0].done()
    assert stalled == before
    assert api.faults.drop_watches("networkpolicies") == 1
    with contextlib.suppress(aiohttp.ClientError):
        await asyncio.wait_for(tasks[0], 5)
    assert stalled == before
