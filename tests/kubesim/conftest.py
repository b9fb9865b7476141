"""Fixtures for the kubesim tests: a fresh server per test and a real client bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.testing import api_client, kubesim_fixture

api = kubesim_fixture("api", bookmark_interval=0.1)


@pytest_asyncio.fixture
async def k8s(api: KubeSim) -> AsyncIterator[client.ApiClient]:
    """A kubernetes-asyncio client loaded from the server's kubeconfig."""
    async with api_client(api) as c:
        yield c


@pytest_asyncio.fixture
async def net(k8s: client.ApiClient) -> client.NetworkingV1Api:
    """The NetworkingV1 API of the real client."""
    return client.NetworkingV1Api(k8s)


@pytest_asyncio.fixture
async def core(k8s: client.ApiClient) -> client.CoreV1Api:
    """The CoreV1 API of the real client."""
    return client.CoreV1Api(k8s)
