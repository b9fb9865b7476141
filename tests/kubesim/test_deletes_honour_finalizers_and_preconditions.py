"""DELETE: preconditions, finalizers, namespace cascade and deletecollection."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy, wait_for


async def test_delete_returns_a_success_status_and_emits_deleted(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A plain delete removes the object; watchers get DELETED with a newer version."""
    created = api.store.create(network_policy("np"))
    start = created["metadata"]["resourceVersion"]
    status = await net.delete_namespaced_network_policy("np", "default")
    assert status.status == "Success"
    assert status.details.uid == created["metadata"]["uid"]
    assert api.store.find("networkpolicies", "default", "np") is None
    async with watch.Watch() as w:
        async for event in w.stream(
            net.list_namespaced_network_policy, "default", resource_version=start, timeout_seconds=2
        ):
            assert event["type"] == "DELETED"
            assert int(event["object"].metadata.resource_version) > int(start)
            break


async def test_delete_of_a_missing_object_is_404(net: client.NetworkingV1Api) -> None:
    """Deleting twice: the second is NotFound."""
    with pytest.raises(ApiException) as caught:
        await net.delete_namespaced_network_policy("ghost", "default")
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("preconditions", "message"),
    [
        pytest.param(
            {"uid": "not-the-uid"},
            "the UID in the precondition (not-the-uid) does not match",
            id="uid",
        ),
        pytest.param(
            {"resourceVersion": "1"},
            "the ResourceVersion in the precondition",
            id="rv",
        ),
    ],
)
async def test_failed_preconditions_are_409_and_keep_the_object(
    api: KubeSim, net: client.NetworkingV1Api, preconditions: dict[str, str], message: str
) -> None:
    """Delete preconditions on uid or resourceVersion protect against deleting a newer object."""
    api.store.create(network_policy("np"))
    with pytest.raises(ApiException) as caught:
        await net.delete_namespaced_network_policy(
            "np", "default", body={"preconditions": preconditions}
        )
    assert caught.value.status == 409
    assert message in json.loads(caught.value.body)["message"]
    assert api.store.find("networkpolicies", "default", "np") is not None


async def test_matching_preconditions_delete(api: KubeSim, net: client.NetworkingV1Api) -> None:
    """With the right uid and resourceVersion the delete goes through."""
    created = api.store.create(network_policy("np"))
    meta = created["metadata"]
    body = {"preconditions": {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}}
    await net.delete_namespaced_network_policy("np", "default", body=body)
    assert api.store.find("networkpolicies", "default", "np") is None


async def test_finalizers_delay_deletion_until_removed(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """With finalizers, delete only sets deletionTimestamp; removing the last one deletes."""
    body = network_policy("np")
    body["metadata"]["finalizers"] = ["example.com/cleanup"]
    api.store.create(body)
    response = await net.delete_namespaced_network_policy("np", "default")
    assert response.status is None  # the object comes back, not a Status
    pending = api.store.get("networkpolicies", "default", "np")
    assert pending["metadata"]["deletionTimestamp"]
    assert pending["metadata"]["generation"] == 2
    again = await net.delete_namespaced_network_policy("np", "default")
    assert again is not None
    assert (
        api.store.get("networkpolicies", "default", "np")["metadata"]["resourceVersion"]
        == (pending["metadata"]["resourceVersion"])
    )
    with pytest.raises(ApiException) as caught:
        await net.patch_namespaced_network_policy(
            "np",
            "default",
            {"metadata": {"finalizers": ["example.com/cleanup", "example.com/more"]}},
            _content_type="application/merge-patch+json",
        )
    assert caught.value.status == 422
    assert "no new finalizers can be added" in json.loads(caught.value.body)["message"]
    await net.patch_namespaced_network_policy(
        "np",
        "default",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )
    assert api.store.find("networkpolicies", "default", "np") is None


async def test_namespace_deletion_cascades(api: KubeSim, core: client.CoreV1Api) -> None:
    """Deleting a namespace deletes its objects; finalizers keep it Terminating until done."""
    api.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    api.store.create(network_policy("plain", "team"))
    held = network_policy("held", "team")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    api.store.create(held)
    api.store.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "team"}}
    )
    response = await core.delete_namespace("team", _preload_content=False)
    terminating = json.loads(await response.read())
    assert terminating["kind"] == "Namespace"
    assert terminating["status"]["phase"] == "Terminating"
    assert api.store.find("networkpolicies", "team", "plain") is None
    assert api.store.find("configmaps", "team", "cm") is None
    assert api.store.get("namespaces", None, "team")["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as caught:
        await client.NetworkingV1Api(core.api_client).create_namespaced_network_policy(
            "team", network_policy("new", "team")
        )
    assert caught.value.status == 403
    assert "because it is being terminated" in json.loads(caught.value.body)["message"]
    api.store.remove_finalizers("networkpolicies", "team", "held")
    await wait_for(lambda: api.store.find("namespaces", None, "team") is None)


async def test_delete_collection_honours_selectors(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """deletecollection removes only the selected objects and returns them."""
    for name, labels in [("a", {"sync": "yes"}), ("b", {"sync": "yes"}), ("c", {})]:
        api.store.create(network_policy(name, labels=labels))
    response = await net.delete_collection_namespaced_network_policy(
        "default", label_selector="sync=yes", _preload_content=False
    )
    deleted = json.loads(await response.read())
    assert deleted["kind"] == "NetworkPolicyList"
    assert [p["metadata"]["name"] for p in deleted["items"]] == ["a", "b"]
    assert [p["metadata"]["name"] for p in api.store.list("networkpolicies", "default")] == ["c"]
    assert api.counters["deletecollection", "networkpolicies"] == 1


async def test_dry_run_delete_keeps_the_object(api: KubeSim, net: client.NetworkingV1Api) -> None:
    """``dryRun=All`` on delete changes nothing."""
    api.store.create(network_policy("np"))
    await net.delete_namespaced_network_policy("np", "default", dry_run="All")
    assert api.store.find("networkpolicies", "default", "np") is not None
