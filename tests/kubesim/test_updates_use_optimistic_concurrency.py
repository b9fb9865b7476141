"""PUT honours resourceVersion (409 Conflict when stale) and uid preconditions."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy


async def test_update_with_a_stale_version_is_409_conflict(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """Two writers from the same version: the second gets upstream's Conflict Status."""
    obj = await net.create_namespaced_network_policy("default", network_policy("np"))
    obj.metadata.labels = {"writer": "one"}
    await net.replace_namespaced_network_policy("np", "default", obj)
    obj.metadata.labels = {"writer": "two"}
    with pytest.raises(ApiException) as caught:
        await net.replace_namespaced_network_policy("np", "default", obj)
    status = json.loads(caught.value.body)
    assert caught.value.status == 409
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on networkpolicies.networking.k8s.io "np": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )
    assert api.store.get("networkpolicies", "default", "np")["metadata"]["labels"] == {
        "writer": "one"
    }


async def test_update_without_a_version_is_unconditional(net: client.NetworkingV1Api) -> None:
    """Leaving resourceVersion out overwrites whatever is stored."""
    await net.create_namespaced_network_policy("default", network_policy("np"))
    body = network_policy("np", labels={"forced": "yes"})
    updated = await net.replace_namespaced_network_policy("np", "default", body)
    assert updated.metadata.labels == {"forced": "yes"}


async def test_update_with_another_uid_fails_its_precondition(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A PUT carrying the uid of a deleted-and-recreated object is a 409, not a silent overwrite."""
    old = api.store.create(network_policy("np"))
    api.store.delete("networkpolicies", "default", "np")
    api.store.create(network_policy("np"))
    body = network_policy("np", labels={"stale": "writer"})
    body["metadata"]["uid"] = old["metadata"]["uid"]
    with pytest.raises(ApiException) as caught:
        await net.replace_namespaced_network_policy("np", "default", body)
    assert caught.value.status == 409
    assert "Precondition failed: UID in precondition" in json.loads(caught.value.body)["message"]


async def test_update_of_a_missing_object_is_404(net: client.NetworkingV1Api) -> None:
    """NetworkPolicies do not allow create-on-update."""
    with pytest.raises(ApiException) as caught:
        await net.replace_namespaced_network_policy("ghost", "default", network_policy("ghost"))
    assert caught.value.status == 404


async def test_leases_are_created_by_put(k8s: client.ApiClient) -> None:
    """Leases allow create-on-update, which leader election relies on."""
    leases = client.CoordinationV1Api(k8s)
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader", "namespace": "default"},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15},
    }
    created = await leases.replace_namespaced_lease("leader", "default", body)
    assert created.spec.holder_identity == "pod-a"
    created.spec.holder_identity = "pod-b"
    updated = await leases.replace_namespaced_lease("leader", "default", created)
    assert updated.spec.holder_identity == "pod-b"


async def test_name_in_body_must_match_the_url(net: client.NetworkingV1Api) -> None:
    """A PUT whose body names another object is a 400 BadRequest."""
    await net.create_namespaced_network_policy("default", network_policy("np"))
    with pytest.raises(ApiException) as caught:
        await net.replace_namespaced_network_policy("np", "default", network_policy("other"))
    assert caught.value.status == 400
