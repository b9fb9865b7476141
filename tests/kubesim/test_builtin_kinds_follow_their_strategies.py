"""Kind-specific server behaviour: status subresources, defaults, create-on-update, Tables."""

from __future__ import annotations

import aiohttp
from kubernetes_asyncio import client

from kubesim import KubeSim

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "d"}},
        "template": {
            "metadata": {"labels": {"app": "d"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    },
    "status": {"readyReplicas": 5},
}


async def test_status_is_only_written_through_the_status_subresource(
    api: KubeSim, k8s: client.ApiClient
) -> None:
    """Create and PUT ignore ``status``; ``/status`` changes only status and keeps generation."""
    apps = client.AppsV1Api(k8s)
    created = await apps.create_namespaced_deployment("default", DEPLOYMENT)
    assert created.status is None
    status = await apps.patch_namespaced_deployment_status(
        "d",
        "default",
        {"status": {"readyReplicas": 1}, "spec": {"replicas": 9}},
        _content_type="application/merge-patch+json",
    )
    assert status.status.ready_replicas == 1
    assert status.spec.replicas == 1
    assert status.metadata.generation == 1
    status.spec.replicas = 3
    status.status.ready_replicas = 0
    updated = await apps.replace_namespaced_deployment("d", "default", status)
    assert updated.spec.replicas == 3
    assert updated.status.ready_replicas == 1
    assert updated.metadata.generation == 2
    assert api.counters["patch", "deployments/status"] == 1


async def test_secrets_default_to_opaque_and_events_allow_put_create(
    api: KubeSim, core: client.CoreV1Api
) -> None:
    """Secrets get ``type: Opaque``; PUT of a missing Event creates it."""
    secret = await core.create_namespaced_secret(
        "default", {"metadata": {"name": "s"}, "stringData": {"a": "b"}}
    )
    assert secret.type == "Opaque"
    event = {
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {"kind": "NetworkPolicy", "name": "np", "namespace": "default"},
        "reason": "Synced",
        "type": "Normal",
    }
    created = await core.replace_namespaced_event("e", "default", event)
    assert created.metadata.uid


async def test_kubectl_style_table_requests_get_server_side_columns(api: KubeSim) -> None:
    """``Accept: ...;as=Table`` yields a meta.k8s.io Table with NAME, the kind's columns, AGE."""
    api.store.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "np"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}},
        }
    )
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    url = f"{api.url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept": accept}) as resp,
    ):
        table = await resp.json(content_type=None)
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Pod-Selector", "Age"]
    assert table["rows"][0]["cells"][:2] == ["np", "app=web"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
