"""Bearer-token RBAC: 401 for unknown tokens, 403 Forbidden Status otherwise, denials recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import api_client, network_policy

READER = [
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "watch"],
    }
]

ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "Role",
    "metadata": {"name": "syncer", "namespace": "host-ns"},
    "rules": [
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "update"],
            "resourceNames": ["netpol-syncer"],
        },
    ],
}

RBAC = {
    "reader-token": {"user": "system:serviceaccount:vc:reader", "rules": READER},
    "role-token": ROLE,
    "admin-token": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
}


@pytest.fixture
async def secured() -> AsyncIterator[KubeSim]:
    """A server with RBAC on and a ``host-ns`` namespace."""
    sim = KubeSim(rbac=RBAC)
    sim.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "host-ns"}})
    async with sim:
        yield sim


async def test_missing_or_unknown_token_is_401(secured: KubeSim) -> None:
    """Without a known token the API answers 401 Unauthorized, but health stays public."""
    async with api_client(secured, token="who-am-i") as k8s:
        with pytest.raises(ApiException) as caught:
            await client.NetworkingV1Api(k8s).list_namespaced_network_policy("default")
    assert caught.value.status == 401
    assert json.loads(caught.value.body)["reason"] == "Unauthorized"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{secured.url}/api/v1/namespaces") as resp:
            assert resp.status == 401
        async with session.get(f"{secured.url}/healthz") as resp:
            assert resp.status == 200


async def test_known_token_without_permission_is_403_and_recorded(secured: KubeSim) -> None:
    """A reader may list but not create; the 403 names user, verb, resource and namespace."""
    async with api_client(secured, token="reader-token") as k8s:
        net = client.NetworkingV1Api(k8s)
        await net.list_namespaced_network_policy("default")
        with pytest.raises(ApiException) as caught:
            await net.create_namespaced_network_policy("default", network_policy("np"))
    status = json.loads(caught.value.body)
    assert caught.value.status == 403
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        "networkpolicies.networking.k8s.io is forbidden: User "
        '"system:serviceaccount:vc:reader" cannot create resource "networkpolicies" in API group '
        '"networking.k8s.io" in the namespace "default"'
    )
    [denial] = secured.denied
    assert (denial.verb, denial.resource, denial.namespace, denial.user) == (
        "create",
        "networkpolicies",
        "default",
        "system:serviceaccount:vc:reader",
    )


async def test_role_objects_apply_only_in_their_namespace(secured: KubeSim) -> None:
    """A Role's rules grant nothing outside its namespace, and resourceNames restrict names."""
    async with api_client(secured, token="role-token") as k8s:
        net = client.NetworkingV1Api(k8s)
        await net.create_namespaced_network_policy("host-ns", network_policy("np", "host-ns"))
        with pytest.raises(ApiException) as other_ns:
            await net.list_namespaced_network_policy("default")
        with pytest.raises(ApiException) as cluster_wide:
            await net.list_network_policy_for_all_namespaces()
        leases = client.CoordinationV1Api(k8s)
        with pytest.raises(ApiException) as wrong_name:
            await leases.read_namespaced_lease("someone-else", "host-ns")
        with pytest.raises(ApiException) as allowed_name:
            await leases.read_namespaced_lease("netpol-syncer", "host-ns")
    assert other_ns.value.status == 403
    assert cluster_wide.value.status == 403
    assert "at the cluster scope" in json.loads(cluster_wide.value.body)["message"]
    assert wrong_name.value.status == 403
    assert allowed_name.value.status == 404  # allowed, just missing
    assert [d.verb for d in secured.denied] == ["list", "list", "get"]


async def test_discovery_is_open_to_authenticated_users(secured: KubeSim) -> None:
    """Any known token can read discovery, as the default system:discovery binding allows."""
    async with api_client(secured, token="reader-token") as k8s:
        versions = await client.CoreApi(k8s).get_api_versions()
    assert versions.versions == ["v1"]


async def test_tokens_can_be_granted_at_runtime(api: KubeSim) -> None:
    """``api.grant`` adds a token (and turns RBAC on)."""
    api.grant("late", READER)
    async with api_client(api, token="late") as k8s:
        result = await client.NetworkingV1Api(k8s).list_namespaced_network_policy("default")
    assert result.items == []
    async with api_client(api) as anonymous:
        with pytest.raises(ApiException) as caught:
            await client.NetworkingV1Api(anonymous).list_namespaced_network_policy("default")
    assert caught.value.status == 401


async def test_self_subject_access_reviews_answer_from_the_rules(secured: KubeSim) -> None:
    """``SelfSubjectAccessReview`` reports what the token may do, without being stored."""
    async with api_client(secured, token="role-token") as k8s:
        authz = client.AuthorizationV1Api(k8s)

        async def can(verb: str, resource: str, namespace: str, group: str = "") -> bool:
            review = await authz.create_self_subject_access_review(
                {
                    "spec": {
                        "resourceAttributes": {
                            "verb": verb,
                            "resource": resource,
                            "namespace": namespace,
                            "group": group,
                        }
                    }
                }
            )
            return bool(review.status.allowed)

        assert await can("patch", "networkpolicies", "host-ns", "networking.k8s.io")
        assert not await can("patch", "networkpolicies", "default", "networking.k8s.io")
        assert await can("create", "events", "host-ns")
    assert secured.denied == []
