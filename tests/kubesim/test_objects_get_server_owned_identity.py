"""Create assigns uid, timestamps, generation and strictly increasing resourceVersions."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy


async def test_create_sets_uid_timestamp_generation_and_increasing_versions(
    net: client.NetworkingV1Api,
) -> None:
    """Each create gets a fresh uid, creationTimestamp, generation 1 and a newer version."""
    first = await net.create_namespaced_network_policy("default", network_policy("a"))
    second = await net.create_namespaced_network_policy("default", network_policy("b"))
    assert first.metadata.uid
    assert second.metadata.uid
    assert first.metadata.uid != second.metadata.uid
    assert first.metadata.creation_timestamp is not None
    assert first.metadata.generation == 1
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


async def test_server_defaults_protocol_and_policy_types(net: client.NetworkingV1Api) -> None:
    """Ports default to TCP and policyTypes to Ingress (+Egress when egress rules exist)."""
    body = network_policy("np", ingress=[{"ports": [{"port": 80}]}], egress=[{}])
    created = await net.create_namespaced_network_policy("default", body)
    assert created.spec.ingress[0].ports[0].protocol == "TCP"
    assert created.spec.policy_types == ["Ingress", "Egress"]


async def test_generate_name_appends_a_random_suffix(net: client.NetworkingV1Api) -> None:
    """``generateName`` produces a unique name from the prefix plus five characters."""
    body = network_policy("")
    body["metadata"] = {"generateName": "web-"}
    created = await net.create_namespaced_network_policy("default", body)
    assert created.metadata.name.startswith("web-")
    assert len(created.metadata.name) == len("web-") + 5


async def test_dry_run_create_validates_but_stores_nothing(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """``dryRun=All`` returns the would-be object without storing it or using a version."""
    before = api.store.resource_version
    result = await net.create_namespaced_network_policy(
        "default", network_policy("dry"), dry_run="All"
    )
    assert result.metadata.name == "dry"
    assert result.metadata.uid
    assert result.metadata.resource_version is None
    assert api.store.find("networkpolicies", "default", "dry") is None
    assert api.store.resource_version == before


async def test_create_in_a_missing_namespace_is_404(net: client.NetworkingV1Api) -> None:
    """The namespace must exist, as the NamespaceLifecycle admission plugin enforces."""
    with pytest.raises(ApiException) as caught:
        await net.create_namespaced_network_policy("nope", network_policy("x", "nope"))
    assert caught.value.status == 404
    status = json.loads(caught.value.body)
    assert status["reason"] == "NotFound"
    assert status["details"] == {"name": "nope", "kind": "namespaces"}


async def test_create_of_an_existing_name_is_409_already_exists(
    net: client.NetworkingV1Api,
) -> None:
    """A second create with the same name is ``409 AlreadyExists`` with a Status body."""
    await net.create_namespaced_network_policy("default", network_policy("dup"))
    with pytest.raises(ApiException) as caught:
        await net.create_namespaced_network_policy("default", network_policy("dup"))
    status = json.loads(caught.value.body)
    assert caught.value.status == 409
    assert status["reason"] == "AlreadyExists"
    assert status["message"] == 'networkpolicies.networking.k8s.io "dup" already exists'


async def test_no_op_update_keeps_the_version_and_emits_nothing(api: KubeSim) -> None:
    """Writing back an unchanged object returns it as is: same resourceVersion, no watch event."""
    created = api.store.create(network_policy("same", labels={"a": "b"}))
    events_before = len(api.storage.bucket(api.store.resource("networkpolicies")).history)
    again = api.store.update(created)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert len(api.storage.bucket(api.store.resource("networkpolicies")).history) == events_before


async def test_generation_changes_only_with_the_spec(api: KubeSim) -> None:
    """Label edits bump resourceVersion but not generation; spec edits bump both."""
    created = api.store.create(network_policy("gen"))
    relabeled = api.store.patch(
        "networkpolicies", "default", "gen", {"metadata": {"labels": {"x": "y"}}}
    )
    assert relabeled["metadata"]["generation"] == 1
    assert relabeled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    respec = api.store.patch(
        "networkpolicies", "default", "gen", {"spec": {"podSelector": {"matchLabels": {"a": "b"}}}}
    )
    assert respec["metadata"]["generation"] == 2


async def test_namespaces_get_the_metadata_name_label_and_active_phase(
    core: client.CoreV1Api,
) -> None:
    """A new namespace carries ``kubernetes.io/metadata.name``, the kubernetes finalizer, Active."""
    ns = await core.create_namespace({"metadata": {"name": "team-a"}})
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": "team-a"}
    assert ns.spec.finalizers == ["kubernetes"]
    assert ns.status.phase == "Active"


async def test_unknown_fields_are_dropped_with_a_warning_or_rejected_when_strict(
    api: KubeSim, k8s: client.ApiClient
) -> None:
    """Unknown fields vanish (with a Warning header) by default and are a 400 with Strict."""
    body = network_policy("unk")
    body["spec"]["bogus"] = True
    url = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
    resp = await k8s.call_api(
        url, "POST", body=body, response_types_map={201: "object"}, _preload_content=False
    )
    assert "unknown field" in resp.headers.get("Warning", "")
    assert "bogus" not in api.store.get("networkpolicies", "default", "unk")["spec"]
    body["metadata"]["name"] = "unk2"
    net = client.NetworkingV1Api(k8s)
    with pytest.raises(ApiException) as caught:
        await net.create_namespaced_network_policy("default", body, field_validation="Strict")
    assert caught.value.status == 400
    assert (
        'strict decoding error: unknown field "spec.bogus"'
        in json.loads(caught.value.body)["message"]
    )
