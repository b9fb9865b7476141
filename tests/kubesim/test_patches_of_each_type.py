"""PATCH: merge, JSON patch, strategic merge (with kubectl's directives) and apply."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


@pytest.fixture
def policy(api: KubeSim) -> dict[str, Any]:
    """A stored policy with labels, two ingress rules and a finalizer."""
    body = network_policy(
        "np",
        labels={"team": "blue", "tier": "web"},
        ingress=[{"ports": [{"port": 80}]}, {"ports": [{"port": 443}]}],
    )
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    return api.store.create(body)


async def test_merge_patch_merges_maps_and_deletes_with_null(
    policy: dict[str, Any], net: client.NetworkingV1Api
) -> None:
    """RFC 7386: nested maps merge, ``null`` deletes a key, lists are replaced."""
    patch = {"metadata": {"labels": {"tier": None, "env": "prod"}}, "spec": {"ingress": [{}]}}
    result = await net.patch_namespaced_network_policy("np", "default", patch, _content_type=MERGE)
    assert result.metadata.labels == {"team": "blue", "env": "prod"}
    assert len(result.spec.ingress) == 1


async def test_json_patch_applies_operations_and_test_failures_are_422(
    policy: dict[str, Any], net: client.NetworkingV1Api
) -> None:
    """RFC 6902 operations apply in order; a failing ``test`` rejects the whole patch."""
    ops = [
        {"op": "add", "path": "/metadata/labels/env", "value": "prod"},
        {"op": "remove", "path": "/spec/ingress/0"},
        {"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": 8443},
    ]
    result = await net.patch_namespaced_network_policy("np", "default", ops)
    assert result.metadata.labels["env"] == "prod"
    assert [p.port for r in result.spec.ingress for p in r.ports] == [8443]
    with pytest.raises(ApiException) as caught:
        await net.patch_namespaced_network_policy(
            "np", "default", [{"op": "test", "path": "/metadata/labels/env", "value": "dev"}]
        )
    assert caught.value.status == 422


async def test_strategic_merge_replaces_atomic_policy_lists_and_merges_finalizers(
    policy: dict[str, Any], net: client.NetworkingV1Api
) -> None:
    """NetworkPolicy rule lists are atomic; metadata.finalizers merge as a set, the patch's
    items first (kube-apiserver's order)."""
    patch = {
        "metadata": {"finalizers": ["example.com/c"]},
        "spec": {"ingress": [{"ports": [{"port": 8080}]}]},
    }
    result = await net.patch_namespaced_network_policy("np", "default", patch)
    assert [r.ports[0].port for r in result.spec.ingress] == [8080]
    assert result.metadata.finalizers == ["example.com/c", "example.com/a", "example.com/b"]


async def test_strategic_merge_directives_kubectl_sends(
    policy: dict[str, Any], net: client.NetworkingV1Api
) -> None:
    """``$deleteFromPrimitiveList``, ``$setElementOrder``, ``$patch: replace`` act as upstream."""
    patch = {
        "metadata": {
            "$deleteFromPrimitiveList/finalizers": ["example.com/a"],
            "$setElementOrder/finalizers": ["example.com/c", "example.com/b"],
            "finalizers": ["example.com/c"],
            "labels": {"$patch": "replace", "only": "this"},
        }
    }
    result = await net.patch_namespaced_network_policy("np", "default", patch)
    assert result.metadata.finalizers == ["example.com/c", "example.com/b"]
    assert result.metadata.labels == {"only": "this"}


async def test_strategic_merge_uses_merge_keys_for_pod_templates(
    api: KubeSim, k8s: client.ApiClient
) -> None:
    """Deployment containers merge by name, env by name; ``$patch: delete`` removes one."""
    apps = client.AppsV1Api(k8s)
    api.store.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"app": "d"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {
                        "containers": [
                            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                            {"name": "sidecar", "image": "side:1"},
                        ]
                    },
                },
            },
        }
    )
    patch = {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]},
                        {"name": "sidecar", "$patch": "delete"},
                    ]
                }
            },
        }
    }
    result = await apps.patch_namespaced_deployment("d", "default", patch)
    containers = result.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("app", "app:2")]
    assert [e.name for e in containers[0].env] == ["A", "B"]
    assert result.spec.strategy.to_dict() == {"type": "Recreate", "rolling_update": None}
    assert result.metadata.generation == 2


async def test_strategic_merge_is_415_for_custom_kinds(api: KubeSim, k8s: client.ApiClient) -> None:
    """Like CRDs upstream, custom kinds accept merge and JSON patches but not strategic ones."""
    api.register("monitoring.coreos.com/v1", "ServiceMonitor")
    api.store.create(
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "sm"},
            "spec": {},
        }
    )
    custom = client.CustomObjectsApi(k8s)
    with pytest.raises(ApiException) as caught:
        await custom.patch_namespaced_custom_object(
            "monitoring.coreos.com",
            "v1",
            "default",
            "servicemonitors",
            "sm",
            {"spec": {"a": 1}},
            _content_type=STRATEGIC,
        )
    assert caught.value.status == 415
    result = await custom.patch_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        "default",
        "servicemonitors",
        "sm",
        {"spec": {"a": 1}},
        _content_type=MERGE,
    )
    assert result["spec"] == {"a": 1}


async def test_patch_with_a_stale_resource_version_is_409(
    policy: dict[str, Any], net: client.NetworkingV1Api
) -> None:
    """A resourceVersion inside a patch is a precondition."""
    patch = {"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}}
    with pytest.raises(ApiException) as caught:
        await net.patch_namespaced_network_policy("np", "default", patch, _content_type=MERGE)
    assert caught.value.status == 409


async def test_patch_of_a_missing_object_is_404(net: client.NetworkingV1Api) -> None:
    """PATCH does not create (except server-side apply)."""
    with pytest.raises(ApiException) as caught:
        await net.patch_namespaced_network_policy(
            "ghost", "default", {"metadata": {}}, _content_type=MERGE
        )
    assert caught.value.status == 404


async def test_unknown_patch_type_is_415(policy: dict[str, Any], api: KubeSim) -> None:
    """A PATCH with an unknown content type gets kube-apiserver's bare 415 Status."""
    url = f"{api.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/np"
    headers = {"Content-Type": "application/x-weird"}
    async with (
        aiohttp.ClientSession() as session,
        session.patch(url, data=b"{}", headers=headers) as resp,
    ):
        status = await resp.json()
    assert resp.status == 415
    assert status["reason"] == "UnsupportedMediaType"
    assert (status["message"], status["details"]) == ("415: Unsupported Media Type", {})


async def test_server_side_apply_creates_then_updates_and_prunes(
    api: KubeSim, net: client.NetworkingV1Api
) -> None:
    """Apply creates a missing object, and later drops fields the same manager stopped applying."""
    first = network_policy("applied", labels={"a": "1", "b": "2"})
    created = await net.patch_namespaced_network_policy(
        "applied", "default", first, _content_type=APPLY, field_manager="helm"
    )
    assert created.metadata.labels == {"a": "1", "b": "2"}
    api.store.patch(
        "networkpolicies", "default", "applied", {"metadata": {"labels": {"other": "x"}}}
    )
    second = network_policy("applied", labels={"a": "1"})
    updated = await net.patch_namespaced_network_policy(
        "applied", "default", second, _content_type=APPLY, field_manager="helm"
    )
    assert updated.metadata.labels == {"a": "1", "other": "x"}
