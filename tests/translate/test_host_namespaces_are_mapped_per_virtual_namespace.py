"""``Target.host_namespace_for`` is the one answer to "which host namespace holds the copy of a
policy in this virtual namespace": single-namespace mode maps every virtual namespace to the one
host namespace, and translation and ownership follow the method, so multi-namespace mode only
changes it."""

from __future__ import annotations

import dataclasses

import pytest

import translate
from tests.translate.tables import HNS, TARGET, policy, to_host


@dataclasses.dataclass(frozen=True, slots=True)
class PerNamespace(translate.Target):
    """A multi-namespace mapping, as vCluster's ``sync.toHost.namespaces`` would make one."""

    def host_namespace_for(self, virtual_namespace: str) -> str:
        return f"{self.host_namespace}-{virtual_namespace}"


MAPPED = PerNamespace(vcluster=TARGET.vcluster, host_namespace="tenant")


@pytest.mark.parametrize("namespace", ["default", "shop", "kube-system"])
def test_single_namespace_mode_maps_every_namespace_to_the_host_namespace(namespace: str) -> None:
    """Every virtual namespace maps to the configured host namespace, and the copy is there."""
    assert TARGET.host_namespace_for(namespace) == HNS
    host = to_host(policy(namespace=namespace))
    assert host["metadata"]["namespace"] == HNS
    assert host["metadata"]["annotations"]["vcluster.loft.sh/object-host-namespace"] == HNS


def test_translation_places_each_copy_where_the_target_maps_it() -> None:
    """With a per-namespace mapping, the copy and its bookkeeping name the mapped namespace."""
    host = to_host(policy(namespace="shop"), MAPPED)
    assert host["metadata"]["namespace"] == "tenant-shop"
    assert host["metadata"]["annotations"]["vcluster.loft.sh/object-host-namespace"] == (
        "tenant-shop"
    )


def test_ownership_follows_the_mapping() -> None:
    """A copy is ours only in the namespace its virtual namespace maps to; the same object
    anywhere else (even the base host namespace) is foreign."""
    host = to_host(policy(namespace="shop"), MAPPED)
    assert translate.virtual_key_of(host, MAPPED) == translate.ObjectKey("shop", "web")
    elsewhere = {**host, "metadata": {**host["metadata"], "namespace": "tenant"}}
    assert translate.virtual_key_of(elsewhere, MAPPED) is None
    assert translate.virtual_key_of(host, TARGET) is None
