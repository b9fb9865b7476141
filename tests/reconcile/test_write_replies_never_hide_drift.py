"""A write reply that arrives after a newer watch event never hides drift (issue 10, item 1).

The controller runs against two kubesim servers; its host client holds the reply of one write
until the test has changed the host copy behind the syncer's back *and* the host watch has
delivered that change. That is the race a busy host produces now and then, made deterministic.
Whatever the reply says, the host copy must end up equal to the translation again, within a
few resync periods.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

import patches
from kubesim import KubeSim
from syncer.commands import running
from syncer.pipeline import controller
from syncer.runtime import clients, metrics
from tests.support.harness import (
    HOST_NAMESPACE,
    NETPOLS,
    TARGET,
    Clusters,
    clusters_fixture,
    create,
    differences,
    edit,
    expected_copies,
    network_policy,
    wait_for,
)
from translate import ObjectKey

clusters = clusters_fixture()
HOST = ObjectKey(HOST_NAMESPACE, "deny-x-default-x-vc")
RESYNC = 0.2

AfterWrite = Callable[[dict[str, Any]], Awaitable[None]]


class HeldReplies:
    """A host client whose next create/update reply waits for ``after_write`` to finish."""

    def __init__(self, api: clients.KubeApi) -> None:
        self._api = api
        self.after_write: AfterWrite | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    async def _held(self, reply: dict[str, Any]) -> dict[str, Any]:
        hook, self.after_write = self.after_write, None
        if hook is not None:
            await hook(reply)
        return reply

    async def create(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return await self._held(await self._api.create(*args, **kwargs))

    async def replace(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return await self._held(await self._api.replace(*args, **kwargs))


@pytest_asyncio.fixture
async def syncer(clusters: Clusters, tmp_path: Path) -> AsyncIterator[tuple[Any, HeldReplies]]:
    virtual = await clients.KubeApi.connect(clusters.virtual.kubeconfig(), cluster="virtual")
    host = HeldReplies(await clients.KubeApi.connect(clusters.host.kubeconfig(), cluster="host"))
    ctl = controller.Controller(
        target=TARGET,
        virtual_api=virtual,
        host_api=host,  # type: ignore[arg-type]
        desire=running.desire_for(TARGET, patches.PatchList()),
        metrics=metrics.Metrics(),
        settings=controller.ControllerSettings(workers=2, resync_period=RESYNC),
    )
    task = asyncio.create_task(ctl.run())
    try:
        yield ctl, host
    finally:
        await ctl.shutdown(grace=1.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await virtual.close()
        await host.close()


def _default_deny() -> dict[str, Any]:
    return network_policy("deny", pod_selector={}, policy_types=["Ingress"])


async def _converged(sim: Clusters) -> None:
    def same() -> bool:
        return not differences(expected_copies(sim.virtual), sim.host)

    await wait_for(
        same, timeout=10, message=lambda: str(differences(expected_copies(sim.virtual), sim.host))
    )


async def _relabel(virtual: KubeSim) -> None:
    """A tenant change that makes the syncer update the copy."""

    def change(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("labels", {})["team"] = "a"

    edit(virtual, "default", "deny", change)


async def test_a_widening_edit_seen_before_the_reply_is_reverted(
    clusters: Clusters, syncer: tuple[Any, HeldReplies]
) -> None:
    """Someone opens the default-deny copy (``ingress: [{}]``) right after the syncer's update;
    the watch delivers that edit before the update's reply. The edit is still reverted."""
    ctl, host_api = syncer
    create(clusters.virtual, _default_deny())
    await _converged(clusters)

    async def widen(reply: dict[str, Any]) -> None:
        def allow_all(obj: dict[str, Any]) -> None:
            obj["spec"]["ingress"] = [{}]

        widened = edit(clusters.host, HOST.namespace, HOST.name, allow_all)
        await wait_for(lambda: ctl.host.version(HOST) == widened["metadata"]["resourceVersion"])

    host_api.after_write = widen
    await _relabel(clusters.virtual)
    await wait_for(lambda: host_api.after_write is None, message="no update was made")
    await asyncio.sleep(RESYNC * 3)
    await _converged(clusters)
    copy = clusters.host.store.get(NETPOLS, HOST.namespace, HOST.name)
    assert "ingress" not in copy["spec"]


async def test_a_deletion_seen_before_the_reply_is_repaired(
    clusters: Clusters, syncer: tuple[Any, HeldReplies]
) -> None:
    """Someone deletes the copy right after the syncer's update; the watch delivers the
    DELETED before the update's reply. The reply does not bring back a ghost: the copy is
    recreated and counted in sync only once it exists."""
    ctl, host_api = syncer
    create(clusters.virtual, _default_deny())
    await _converged(clusters)

    async def delete(reply: dict[str, Any]) -> None:
        clusters.host.store.delete(NETPOLS, HOST.namespace, HOST.name)
        await wait_for(lambda: HOST not in ctl.host)

    host_api.after_write = delete
    await _relabel(clusters.virtual)
    await wait_for(lambda: host_api.after_write is None, message="no update was made")
    await asyncio.sleep(RESYNC * 3)
    await _converged(clusters)
    assert clusters.host.store.find(NETPOLS, HOST.namespace, HOST.name) is not None


async def test_a_deletion_seen_before_the_create_reply_is_repaired(
    clusters: Clusters, syncer: tuple[Any, HeldReplies]
) -> None:
    """The same race on a create: the copy is deleted and the DELETED is delivered before the
    POST's reply; the copy is created again."""
    ctl, host_api = syncer

    async def delete(reply: dict[str, Any]) -> None:
        await wait_for(lambda: HOST in ctl.host)
        clusters.host.store.delete(NETPOLS, HOST.namespace, HOST.name)
        await wait_for(lambda: HOST not in ctl.host)

    host_api.after_write = delete
    create(clusters.virtual, _default_deny())
    await wait_for(lambda: host_api.after_write is None, message="no create was made")
    await asyncio.sleep(RESYNC * 3)
    await _converged(clusters)
