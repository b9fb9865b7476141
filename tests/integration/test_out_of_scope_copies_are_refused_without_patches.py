"""The scoping invariants hold for every host copy, not only patched ones (issue 12): with no
patches and no guardrails configured, a virtual policy whose copy would break them (here a
policy type no translation rule covers, as a newer or a lax virtual API server may accept) is
refused before any host write: an ``OutOfScope`` count, a ``SyncError`` Warning event naming
the field, and the last good host copy kept.

kubesim only: the virtual server must accept a policy every real API server rejects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from kubesim import KubeSim
from kubesim.server import DEFAULT_NAMESPACES
from tests.support import backends
from tests.support.harness import (
    HOST_NAMESPACE,
    Clusters,
    create,
    edit,
    events_for,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)

HOST = "web-x-default-x-vc"


@pytest_asyncio.fixture(
    params=backends.params(real_reason="the virtual server stores a policy real servers reject")
)
async def lax(tmp_path: Path) -> AsyncIterator[Clusters]:
    """Two kubesims; the virtual one stores NetworkPolicies without validating them."""
    async with (
        KubeSim(namespaces=list(DEFAULT_NAMESPACES), bookmark_interval=0.2) as virtual,
        KubeSim(namespaces=[*DEFAULT_NAMESPACES, HOST_NAMESPACE], bookmark_interval=0.2) as host,
    ):
        strict = virtual.registry.lookup("networking.k8s.io", "v1", "networkpolicies")
        assert strict is not None
        virtual.registry.register(dataclasses.replace(strict, validator=None))
        yield Clusters(virtual=virtual, host=host, workdir=tmp_path)


def _sideways(obj: dict[str, Any]) -> None:
    obj["spec"]["policyTypes"] = ["Ingress", "Sideways"]
    obj["spec"]["ingress"] = [{}]


async def test_an_out_of_scope_copy_is_refused_before_any_write(lax: Clusters) -> None:
    """No patches configured: the refused copy is never sent to the host, the tenant gets a
    SyncError naming the field, OutOfScope is counted, other policies keep syncing, and a fix
    syncs again."""
    clusters = lax
    create(clusters.virtual, network_policy("web"))
    async with clusters.run() as run:
        await wait_converged(clusters)
        good = host_copies(clusters.host)[HOST]
        before = writes(clusters.host)

        virtual = edit(clusters.virtual, "default", "web", _sideways)
        events = await wait_for(
            lambda: events_for(clusters.virtual, virtual, "SyncError"),
            timeout=20,
            message="no SyncError event for the out-of-scope policy",
        )
        assert events[0]["type"] == "Warning"
        message = events[0]["message"]
        assert "NetworkPolicy default/web" in message, message
        assert "/spec/policyTypes/1 must be Ingress or Egress" in message, message
        samples = await run.metrics()
        assert samples.value("netpol_syncer_errors_total", reason="OutOfScope") == 1
        assert samples.value("netpol_syncer_errors_total", reason="HostRejected") == 0
        assert writes(clusters.host) == before, "a refused copy must not reach the host"
        assert host_copies(clusters.host)[HOST] == good
        assert await run.probe("/healthz") == 200

        create(clusters.virtual, network_policy("other"))
        await wait_for(lambda: "other-x-default-x-vc" in host_copies(clusters.host), timeout=20)
        assert host_copies(clusters.host)[HOST] == good

        edit(
            clusters.virtual, "default", "web", lambda o: o["spec"].update(policyTypes=["Ingress"])
        )
        await wait_converged(clusters)
        assert host_copies(clusters.host)[HOST]["spec"]["ingress"] == [{}]
