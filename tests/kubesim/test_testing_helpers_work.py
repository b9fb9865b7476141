"""The public helpers in ``kubesim.testing`` behave as documented."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.testing import api_client, kubesim_fixture, network_policy, wait_for

custom = kubesim_fixture("custom", namespaces=("default", "team"))


async def test_fixture_factory_passes_options(custom: KubeSim) -> None:
    """``kubesim_fixture`` forwards constructor options and yields a running server."""
    assert custom.running
    assert [ns["metadata"]["name"] for ns in custom.store.list("namespaces")] == ["default", "team"]


async def test_wait_for_returns_the_truthy_value() -> None:
    """``wait_for`` accepts sync or async conditions and returns what they returned."""
    box: list[int] = []
    asyncio.get_running_loop().call_later(0.05, box.append, 7)
    assert await wait_for(lambda: box, timeout=2) == [7]

    async def ready() -> str:
        return "yes"

    assert await wait_for(ready) == "yes"


async def test_wait_for_fails_with_the_message() -> None:
    """A condition that never holds fails with the given (lazily built) message."""
    with pytest.raises(AssertionError, match="still 0"):
        await wait_for(lambda: 0, timeout=0.05, message=lambda: "still 0")


async def test_api_client_and_policy_builder_round_trip(api: KubeSim) -> None:
    """``api_client`` talks to the server; ``network_policy`` builds a valid body."""
    body = network_policy("np", labels={"a": "b"}, egress=[{}], policy_types=["Egress"])
    async with api_client(api) as k8s:
        created = await client.NetworkingV1Api(k8s).create_namespaced_network_policy(
            "default", body
        )
    assert created.spec.policy_types == ["Egress"]
