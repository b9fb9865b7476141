"""Host-name collisions (SPEC §3 Ownership, §6): two virtual policies can translate to one host
name, and other objects can sit on a name we need. Whatever happens to the loser, the owner's
copy is never written or deleted, and an object squatting on a name with our label but no valid
ownership is never overwritten or deleted. The real reconciler and worker loop, on in-memory
caches and APIs."""

from __future__ import annotations

from typing import Any

import pytest

import translate
from tests.support.netpol_api import TARGET, Cluster
from translate import ObjectKey, markers

SHARED = "a-x-b-x-c-x-vc"
"""``a-x-b`` in namespace ``c`` and ``a`` in namespace ``b-x-c`` both become this."""
OWNER = ObjectKey("c", "a-x-b")
LOSER = ObjectKey("b-x-c", "a")


def _virtual(key: ObjectKey, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": key.name, "namespace": key.namespace, "uid": f"uid-{app}"},
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"]},
    }


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()


async def test_deleting_the_loser_never_deletes_the_owners_copy(cluster: Cluster) -> None:
    """The loser gets a HostNameCollision event and no write; once it is deleted (the virtual
    API answers 404 for it), the owner's copy is still not deleted, nor written."""
    owner, loser = _virtual(OWNER, "owner"), _virtual(LOSER, "loser")
    cluster.create_virtual(owner)
    cluster.create_virtual(loser)
    copy = cluster.put_host(translate.to_host(cluster.virtual.get(OWNER), TARGET))  # type: ignore[arg-type]
    assert copy["metadata"]["name"] == SHARED

    await cluster.process(LOSER)
    assert [e[:3] for e in cluster.told.events] == [("Warning", "a", "HostNameCollision")]
    cluster.delete_virtual(LOSER)
    await cluster.process(LOSER)
    cluster.delete_virtual(OWNER)  # even with the owner gone from the cache, the loser's
    await cluster.process(LOSER)  # deletion is not the owner's
    assert cluster.host_api.writes == []
    assert cluster.host_object(SHARED) == copy


@pytest.mark.parametrize(
    "annotations",
    [
        pytest.param({}, id="no-ownership-annotations"),
        pytest.param(
            {markers.OBJECT_NAME: "other", markers.OBJECT_NAMESPACE: "default"},
            id="annotations-naming-another-object",
        ),
    ],
)
async def test_a_squatter_with_our_label_is_never_overwritten_or_deleted(
    cluster: Cluster, annotations: dict[str, str]
) -> None:
    """A host object on our host name that carries our managed-by label but no ownership
    mapping back to its own name is not ours: the virtual policy gets a HostNameCollision
    event, and neither syncing nor deleting that policy writes or deletes the squatter."""
    squatter = cluster.put_host(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": SHARED,
                "namespace": TARGET.host_namespace,
                "labels": {markers.MANAGED_BY: TARGET.vcluster},
                "annotations": annotations,
            },
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
    )
    cluster.create_virtual(_virtual(LOSER, "web"))
    await cluster.process(LOSER)
    assert [e[:3] for e in cluster.told.events] == [("Warning", "a", "HostNameCollision")]
    assert cluster.metrics.errors == {"HostNameCollision": 1}
    cluster.delete_virtual(LOSER)
    await cluster.process(LOSER)
    assert cluster.host_api.writes == []
    assert cluster.host_object(SHARED) == squatter
