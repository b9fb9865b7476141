"""Discovery, version and health endpoints are what unmodified clients expect."""

from __future__ import annotations

import aiohttp
from kubernetes_asyncio import client

from kubesim import KubeSim
from kubesim.testing import api_client

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


async def test_legacy_discovery_lists_groups_and_resources(k8s: client.ApiClient) -> None:
    """/api, /apis and the group/version resource lists describe every served kind."""
    core = await client.CoreApi(k8s).get_api_versions()
    assert core.versions == ["v1"]
    groups = await client.ApisApi(k8s).get_api_versions()
    names = {g.name for g in groups.groups}
    assert {
        "networking.k8s.io",
        "coordination.k8s.io",
        "apps",
        "rbac.authorization.k8s.io",
        "policy",
    } <= names
    resources = await client.NetworkingV1Api(k8s).get_api_resources()
    [netpol] = [r for r in resources.resources if r.name == "networkpolicies"]
    assert netpol.kind == "NetworkPolicy"
    assert netpol.namespaced
    assert netpol.short_names == ["netpol"]
    assert set(netpol.verbs) == {
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    }
    core_resources = await client.CoreV1Api(k8s).get_api_resources()
    by_name = {r.name: r for r in core_resources.resources}
    assert by_name["namespaces"].namespaced is False
    assert {"events", "configmaps", "secrets", "serviceaccounts", "services", "pods"} <= set(
        by_name
    )


async def test_version_reports_a_1_37_server(k8s: client.ApiClient) -> None:
    """/version looks like a Kubernetes 1.37 API server."""
    info = await client.VersionApi(k8s).get_code()
    assert (info.major, info.minor) == ("1", "37")
    assert info.git_version.startswith("v1.37.")


async def test_aggregated_discovery_is_served_when_asked(api: KubeSim) -> None:
    """client-go's aggregated discovery request gets an APIGroupDiscoveryList."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api.url}/apis", headers={"Accept": AGGREGATED}) as resp:
            body = await resp.json(content_type=None)
            assert resp.headers["Content-Type"].startswith(
                "application/json;g=apidiscovery.k8s.io;v=v2"
            )
        async with session.get(f"{api.url}/api", headers={"Accept": AGGREGATED}) as resp:
            core = await resp.json(content_type=None)
    assert body["kind"] == "APIGroupDiscoveryList"
    networking = next(i for i in body["items"] if i["metadata"]["name"] == "networking.k8s.io")
    resource = networking["versions"][0]["resources"][0]
    assert resource["resource"] == "networkpolicies"
    assert resource["scope"] == "Namespaced"
    assert core["items"][0]["metadata"]["name"] == ""


async def test_health_endpoints_answer_ok(api: KubeSim) -> None:
    """/healthz, /livez and /readyz answer 200 ok."""
    async with aiohttp.ClientSession() as session:
        for path in ("/healthz", "/livez", "/readyz", "/readyz/ping"):
            async with session.get(api.url + path) as resp:
                assert (resp.status, await resp.text()) == (200, "ok")


async def test_openapi_v3_declares_field_validation(api: KubeSim) -> None:
    """kubectl's check for server-side field validation finds the PATCH parameter."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api.url}/openapi/v3") as resp:
            root = await resp.json()
        url = root["paths"]["apis/networking.k8s.io/v1"]["serverRelativeURL"]
        async with session.get(api.url + url) as resp:
            doc = await resp.json()
    path = doc["paths"]["/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies/{name}"]
    assert path["patch"]["x-kubernetes-group-version-kind"]["kind"] == "NetworkPolicy"
    assert "fieldValidation" in [p["name"] for p in path["patch"]["parameters"]]


async def test_unknown_paths_are_404_status(api: KubeSim) -> None:
    """Unknown groups, resources and paths answer a NotFound Status."""
    async with aiohttp.ClientSession() as session:
        for path in ("/apis/nope.io/v1/things", "/api/v1/nothings", "/random"):
            async with session.get(api.url + path) as resp:
                assert resp.status == 404
                assert (await resp.json())["reason"] == "NotFound"


async def test_registered_custom_kinds_appear_and_work(api: KubeSim, k8s: client.ApiClient) -> None:
    """One call serves a custom kind through discovery and the custom objects API."""
    api.register("monitoring.coreos.com/v1", "ServiceMonitor")
    api.register("monitoring.coreos.com/v1", "PrometheusRule")
    groups = await client.ApisApi(k8s).get_api_versions()
    assert "monitoring.coreos.com" in {g.name for g in groups.groups}
    custom = client.CustomObjectsApi(k8s)
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "rules", "labels": {"release": "x"}},
        "spec": {"groups": [{"name": "g", "rules": []}]},
    }
    created = await custom.create_namespaced_custom_object(
        "monitoring.coreos.com", "v1", "default", "prometheusrules", body
    )
    assert created["spec"] == body["spec"]
    assert created["metadata"]["generation"] == 1
    listed = await custom.list_namespaced_custom_object(
        "monitoring.coreos.com", "v1", "default", "prometheusrules", label_selector="release=x"
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["rules"]


async def test_tls_server_is_trusted_through_its_kubeconfig() -> None:
    """With ``tls=True`` the kubeconfig carries the CA and the real client verifies the server."""
    async with KubeSim(tls=True) as secure, api_client(secure) as k8s:
        assert secure.url.startswith("https://")
        assert "certificate-authority-data" in secure.kubeconfig()["clusters"][0]["cluster"]
        namespaces = await client.CoreV1Api(k8s).list_namespace()
    assert "default" in [n.metadata.name for n in namespaces.items]
