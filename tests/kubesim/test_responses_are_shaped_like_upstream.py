"""Response shapes real clients read: YAML on request, list items, the finalizer-removing write."""

from __future__ import annotations

import aiohttp
import yaml

from kubesim import KubeSim
from kubesim.testing import network_policy

NP = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"


async def test_yaml_is_served_when_asked_for(api: KubeSim) -> None:
    """``Accept: application/yaml`` gets objects, lists and errors as YAML."""
    api.store.create(network_policy("web"))
    async with aiohttp.ClientSession(headers={"Accept": "application/yaml"}) as session:
        for path, kind in (
            (f"{NP}/web", "NetworkPolicy"),
            (NP, "NetworkPolicyList"),
            (f"{NP}/x", "Status"),
        ):
            async with session.get(api.url + path) as resp:
                assert resp.headers["Content-Type"] == "application/yaml"
                assert yaml.safe_load(await resp.read())["kind"] == kind


async def test_list_items_carry_no_kind_or_api_version(api: KubeSim) -> None:
    """Like kube-apiserver, only the list names its kind; the items do not repeat it."""
    api.store.create(network_policy("web"))
    async with aiohttp.ClientSession() as session, session.get(api.url + NP) as resp:
        listed = await resp.json()
    assert listed["kind"] == "NetworkPolicyList"
    assert list(listed["items"][0]) == ["metadata", "spec"]


async def test_removing_the_last_finalizer_answers_the_final_object(api: KubeSim) -> None:
    """The write that deletes an object returns it without finalizers, at its last version."""
    body = network_policy("web")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    api.store.create(body)
    deleting = api.store.delete("networkpolicies", "default", "web")
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            f"{api.url}{NP}/web",
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        ) as resp,
    ):
        final = await resp.json()
    assert resp.status == 200
    assert "finalizers" not in final["metadata"]
    assert final["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    assert api.store.find("networkpolicies", "default", "web") is None
