"""Only the leader writes (SPEC §6): a replica whose right to write has lapsed creates, updates
and deletes nothing, whatever a key needs; the key goes back to the queue for the next leader,
and the tenant is told nothing."""

from __future__ import annotations

from typing import Any

import pytest

import translate
from tests.support.netpol_api import TARGET, Cluster
from translate import ObjectKey

KEY = ObjectKey("default", "web")
HOST_NAME = "web-x-default-x-vc"


def _virtual(app: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": KEY.name, "namespace": KEY.namespace, "uid": "uid-web"},
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"]},
    }


def _needs_create(cluster: Cluster) -> None:
    cluster.create_virtual(_virtual("web"))


def _needs_update(cluster: Cluster) -> None:
    cluster.put_host(translate.to_host(_virtual("old"), TARGET))  # type: ignore[arg-type]
    cluster.create_virtual(_virtual("web"))


def _needs_delete(cluster: Cluster) -> None:
    cluster.put_host(translate.to_host(_virtual("web"), TARGET))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "needs",
    [
        pytest.param(_needs_create, id="create"),
        pytest.param(_needs_update, id="update"),
        pytest.param(_needs_delete, id="delete"),
    ],
)
async def test_a_replica_that_may_not_write_writes_nothing(needs: Any) -> None:
    """With the lease lapsed, a key that needs a create, an update or a delete causes no
    write; it is queued again, with no event and no error; once leading, it is written."""
    cluster = Cluster(may_write=False)
    needs(cluster)
    before = cluster.host_object(HOST_NAME)
    await cluster.process(KEY)
    assert cluster.host_api.writes == []
    assert cluster.host_object(HOST_NAME) == before
    assert cluster.told.events == []
    assert cluster.metrics.errors == {}
    assert len(cluster.queue) == 1, "the key was not put back for the next leader"

    cluster.leading = True
    await cluster.process(KEY)
    assert len(cluster.host_api.writes) == 1
