"""The controller's host-side indexes hold whole keys (namespace, name), never bare names:
the virtual store's host-name index maps a host key to the virtual keys translating to it, and
the host store's owner index maps a copy to its virtual key. So a host event enqueues exactly
the virtual keys of that host object, also when host namespaces differ per virtual namespace
(multi-namespace mode, ``Target.host_namespace_for``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import patches
import translate
from syncer.pipeline import controller, guarding
from syncer.runtime import metrics
from syncer.runtime.clock import FakeClock
from translate import ObjectKey


@dataclasses.dataclass(frozen=True, slots=True)
class PerNamespace(translate.Target):
    def host_namespace_for(self, virtual_namespace: str) -> str:
        return f"{self.host_namespace}-{virtual_namespace}"


@dataclasses.dataclass
class NoApi:
    """Enough of a client for wiring; these tests never start the controller."""

    cluster: str


def _controller(target: translate.Target) -> controller.Controller:
    return controller.Controller(
        target=target,
        virtual_api=NoApi("virtual"),  # type: ignore[arg-type]
        host_api=NoApi("host"),  # type: ignore[arg-type]
        desire=guarding.desire_for(target, patches.PatchList()),
        metrics=metrics.Metrics(),
        clock=FakeClock(),
    )


def _virtual(namespace: str, name: str = "web") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}"},
        "spec": {"podSelector": {}},
    }


def _copy(target: translate.Target, namespace: str) -> dict[str, Any]:
    host: dict[str, Any] = dict(translate.to_host(_virtual(namespace), target))  # type: ignore[arg-type]
    host["metadata"]["resourceVersion"] = "7"
    return host


def test_the_host_name_index_is_keyed_by_host_namespace_and_name() -> None:
    """Two virtual policies named alike in two namespaces index under their own host keys."""
    ctl = _controller(PerNamespace(vcluster="vc", host_namespace="tenant"))
    ctl.virtual.upsert(_virtual("a"))
    ctl.virtual.upsert(_virtual("b"))
    index = controller.HOST_NAME_INDEX
    assert ctl.virtual.by_index(index, ObjectKey("tenant-a", "web-x-a-x-vc")) == {
        ObjectKey("a", "web")
    }
    assert ctl.virtual.by_index(index, ObjectKey("tenant-b", "web-x-a-x-vc")) == set()
    assert ctl.virtual.by_index(index, "web-x-a-x-vc") == set()


def test_the_owner_index_holds_virtual_keys() -> None:
    """Each host copy indexes under the key of the virtual object it belongs to."""
    target = PerNamespace(vcluster="vc", host_namespace="tenant")
    ctl = _controller(target)
    ctl.host.upsert(_copy(target, "a"))
    ctl.host.upsert(_copy(target, "b"))
    assert sorted(ctl.host.index_keys(controller.OWNER_INDEX)) == [
        ObjectKey("a", "web"),
        ObjectKey("b", "web"),
    ]


async def test_a_host_event_enqueues_exactly_the_keys_of_its_host_object() -> None:
    """A change of one copy enqueues its owner, not the same-named policy of another
    namespace; the reconciler looks copies up at the same mapped key."""
    target = PerNamespace(vcluster="vc", host_namespace="tenant")
    ctl = _controller(target)
    ctl.virtual.upsert(_virtual("a"))
    ctl.virtual.upsert(_virtual("b"))
    copy = _copy(target, "b")
    ctl.host.upsert(copy)
    ctl._on_host(None, copy)
    assert len(ctl.queue) == 1
    async with ctl.queue.get() as key:
        assert key == ObjectKey("b", "web")
    assert ctl.reconciler.host_key(ObjectKey("b", "web")) == translate.ObjectKey(
        "tenant-b", "web-x-b-x-vc"
    )


def test_single_namespace_mode_indexes_under_the_one_host_namespace() -> None:
    """Without a mapping every host key is in the configured host namespace."""
    ctl = _controller(translate.Target(vcluster="vc", host_namespace="vcluster-vc"))
    ctl.virtual.upsert(_virtual("a"))
    assert ctl.virtual.by_index(
        controller.HOST_NAME_INDEX, ObjectKey("vcluster-vc", "web-x-a-x-vc")
    ) == {ObjectKey("a", "web")}
