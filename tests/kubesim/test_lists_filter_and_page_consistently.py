"""LIST: label and field selectors, limit/continue over a consistent snapshot, versions."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import KubeSim
from kubesim.testing import network_policy

LABELS = {
    "a": {"app": "web", "tier": "front"},
    "b": {"app": "api", "tier": "back"},
    "c": {"app": "db"},
    "d": {},
}


@pytest.fixture
def seeded(api: KubeSim) -> KubeSim:
    """Four policies with varied labels in ``default``, one in ``kube-system``."""
    for name, labels in LABELS.items():
        api.store.create(network_policy(name, labels=labels))
    api.store.create(network_policy("z", "kube-system", labels={"app": "web"}))
    return api


SELECTORS = [
    pytest.param("app=web", ["a"], id="equals"),
    pytest.param("app==web", ["a"], id="double-equals"),
    pytest.param("app!=web", ["b", "c", "d"], id="not-equals-includes-missing"),
    pytest.param("app in (web,api)", ["a", "b"], id="in"),
    pytest.param("app notin (web,api)", ["c", "d"], id="notin-includes-missing"),
    pytest.param("tier", ["a", "b"], id="exists"),
    pytest.param("!tier", ["c", "d"], id="does-not-exist"),
    pytest.param("app,!tier", ["c"], id="and"),
    pytest.param(" app = web , tier ", ["a"], id="whitespace"),
    pytest.param("", ["a", "b", "c", "d"], id="empty"),
]


@pytest.mark.parametrize(("selector", "names"), SELECTORS)
async def test_label_selectors_follow_upstream_syntax(
    seeded: KubeSim, net: client.NetworkingV1Api, selector: str, names: list[str]
) -> None:
    """Every operator of the label selector grammar selects like the real server."""
    result = await net.list_namespaced_network_policy("default", label_selector=selector)
    assert [p.metadata.name for p in result.items] == names


@pytest.mark.parametrize("selector", ["app=", "in (a)", "app in ()", "app in (a", "x==y==z", "a b"])
async def test_malformed_label_selector_is_400(
    seeded: KubeSim, net: client.NetworkingV1Api, selector: str
) -> None:
    """A selector that does not parse is a BadRequest, not an empty list."""
    if selector == "app=":
        result = await net.list_namespaced_network_policy("default", label_selector=selector)
        assert result.items == []  # an empty value is legal: matches app=""
        return
    with pytest.raises(ApiException) as caught:
        await net.list_namespaced_network_policy("default", label_selector=selector)
    assert caught.value.status == 400


async def test_field_selectors_on_name_and_namespace(
    seeded: KubeSim, net: client.NetworkingV1Api
) -> None:
    """``metadata.name``/``metadata.namespace`` with ``=``, ``==``, ``!=``, across namespaces."""
    by_name = await net.list_network_policy_for_all_namespaces(field_selector="metadata.name=b")
    assert [p.metadata.name for p in by_name.items] == ["b"]
    not_default = await net.list_network_policy_for_all_namespaces(
        field_selector="metadata.namespace!=default"
    )
    assert [p.metadata.name for p in not_default.items] == ["z"]
    both = await net.list_network_policy_for_all_namespaces(
        field_selector="metadata.namespace==default,metadata.name!=a", label_selector="app"
    )
    assert [p.metadata.name for p in both.items] == ["b", "c"]


async def test_unsupported_field_is_400(seeded: KubeSim, net: client.NetworkingV1Api) -> None:
    """Fields a resource does not index are refused like upstream."""
    with pytest.raises(ApiException) as caught:
        await net.list_namespaced_network_policy("default", field_selector="spec.podSelector=x")
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["message"] == (
        '"spec.podSelector" is not a known field selector: only "metadata.name", '
        '"metadata.namespace"'
    )


async def test_event_and_secret_field_selectors(api: KubeSim, core: client.CoreV1Api) -> None:
    """Events select on involvedObject.* / reason / type; secrets on type."""
    for i, (kind, reason, type_) in enumerate(
        [
            ("NetworkPolicy", "SyncError", "Warning"),
            ("NetworkPolicy", "Synced", "Normal"),
            ("Pod", "Pulled", "Normal"),
        ]
    ):
        api.store.create(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"ev{i}", "namespace": "default"},
                "involvedObject": {
                    "kind": kind,
                    "name": "web",
                    "namespace": "default",
                    "uid": f"u{i}",
                },
                "reason": reason,
                "type": type_,
            }
        )
    found = await core.list_namespaced_event(
        "default",
        field_selector="involvedObject.kind=NetworkPolicy,involvedObject.name=web,"
        "involvedObject.namespace=default,type=Warning",
    )
    assert [e.reason for e in found.items] == ["SyncError"]
    by_uid = await core.list_namespaced_event(
        "default", field_selector="involvedObject.uid=u2,reason=Pulled"
    )
    assert [e.metadata.name for e in by_uid.items] == ["ev2"]
    api.store.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s1"},
            "type": "kubernetes.io/tls",
        }
    )
    api.store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s2"}})
    opaque = await core.list_namespaced_secret("default", field_selector="type=Opaque")
    assert [s.metadata.name for s in opaque.items] == ["s2"]


async def test_limit_and_continue_page_through_a_consistent_snapshot(
    seeded: KubeSim, net: client.NetworkingV1Api
) -> None:
    """Pages come from the first page's snapshot: later writes do not leak into the listing."""
    first = await net.list_namespaced_network_policy("default", limit=2)
    assert [p.metadata.name for p in first.items] == ["a", "b"]
    assert first.metadata.remaining_item_count == 2
    seeded.store.delete("networkpolicies", "default", "c")
    seeded.store.create(network_policy("cc"))
    seeded.store.patch("networkpolicies", "default", "d", {"metadata": {"labels": {"late": "yes"}}})
    second = await net.list_namespaced_network_policy(
        "default", limit=2, _continue=first.metadata._continue
    )
    assert [p.metadata.name for p in second.items] == ["c", "d"]
    assert second.items[1].metadata.labels is None
    assert second.metadata.resource_version == first.metadata.resource_version
    assert not second.metadata._continue


async def test_continue_after_compaction_is_410(
    seeded: KubeSim, net: client.NetworkingV1Api
) -> None:
    """A continue token older than the kept history is 410 Expired."""
    first = await net.list_namespaced_network_policy("default", limit=1)
    seeded.store.create(network_policy("newer"))
    seeded.faults.compact("networkpolicies")
    with pytest.raises(ApiException) as caught:
        await net.list_namespaced_network_policy(
            "default", limit=1, _continue=first.metadata._continue
        )
    assert caught.value.status == 410
    assert json.loads(caught.value.body)["reason"] == "Expired"


async def test_list_resource_version_semantics(
    seeded: KubeSim, net: client.NetworkingV1Api
) -> None:
    """Exact reads the past from history, NotOlderThan the present, the future is a 504."""
    before = await net.list_namespaced_network_policy("default")
    seeded.store.create(network_policy("later"))
    exact = await net.list_namespaced_network_policy(
        "default", resource_version=before.metadata.resource_version, resource_version_match="Exact"
    )
    assert [p.metadata.name for p in exact.items] == ["a", "b", "c", "d"]
    newer = await net.list_namespaced_network_policy(
        "default",
        resource_version=before.metadata.resource_version,
        resource_version_match="NotOlderThan",
    )
    assert "later" in [p.metadata.name for p in newer.items]
    with pytest.raises(ApiException) as caught:
        await net.list_namespaced_network_policy("default", resource_version="999999")
    assert caught.value.status == 504


async def test_list_in_an_unknown_namespace_is_empty(net: client.NetworkingV1Api) -> None:
    """Listing a namespace that does not exist is an empty list, as upstream."""
    result = await net.list_namespaced_network_policy("missing")
    assert result.items == []
