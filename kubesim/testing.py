"""Helpers for tests that run against kubesim (importable from any test folder).

* :func:`kubesim_fixture` makes a pytest-asyncio fixture that yields a running server;
* :func:`api_client` opens a kubernetes-asyncio ``ApiClient`` through the server's kubeconfig,
  the same path production code uses;
* :func:`wait_for` polls a condition with a deadline instead of sleeping for a guessed time;
* :func:`network_policy` builds a NetworkPolicy dict with readable defaults.

Typical conftest::

    from kubesim.testing import kubesim_fixture
    kubesim = kubesim_fixture(bookmark_interval=0.2)

Only test code imports this module (it needs pytest); production code never imports kubesim.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest_asyncio
from kubernetes_asyncio import client, config

from kubesim.server import KubeSim

T = TypeVar("T")
JsonObject = dict[str, Any]


def kubesim_fixture(name: str = "kubesim", **options: Any) -> Any:
    """A function-scoped async fixture named ``name`` yielding a started :class:`KubeSim`.

    ``options`` go to the constructor (``rbac``, ``tls``, ``bookmark_interval``, ...). The
    server is stopped (all connections dropped) when the test ends.
    """

    @pytest_asyncio.fixture(name=name)
    async def _fixture() -> AsyncIterator[KubeSim]:
        async with KubeSim(**options) as sim:
            yield sim

    return _fixture


async def client_configuration(sim: KubeSim, token: str | None = None) -> client.Configuration:
    """A kubernetes-asyncio configuration loaded from the server's kubeconfig."""
    configuration = client.Configuration()
    await config.load_kube_config_from_dict(
        sim.kubeconfig(token),
        client_configuration=configuration,
        temp_file_path=tempfile.gettempdir(),
    )
    return configuration


@contextlib.asynccontextmanager
async def api_client(sim: KubeSim, token: str | None = None) -> AsyncIterator[client.ApiClient]:
    """An ``ApiClient`` for ``sim`` (closed on exit)."""
    configuration = await client_configuration(sim, token)
    async with client.ApiClient(configuration=configuration) as api:
        yield api


async def wait_for(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - a polling deadline, not a cancellation scope
    interval: float = 0.01,
    message: str | Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` (sync or async) until it returns a truthy value, and return it.

    Raises ``AssertionError`` after ``timeout`` seconds with ``message`` (a string or a
    callable producing one, evaluated at failure time so it can show the latest state).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(text or f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def network_policy(
    name: str,
    namespace: str = "default",
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    pod_selector: JsonObject | None = None,
    ingress: list[JsonObject] | None = None,
    egress: list[JsonObject] | None = None,
    policy_types: list[str] | None = None,
) -> JsonObject:
    """A ``networking.k8s.io/v1`` NetworkPolicy body with only the given fields set."""
    metadata: JsonObject = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    spec: JsonObject = {"podSelector": pod_selector or {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if policy_types is not None:
        spec["policyTypes"] = policy_types
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": spec,
    }
