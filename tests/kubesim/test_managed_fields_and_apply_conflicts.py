"""``managedFields`` and server-side apply ownership, as kube-apiserver 1.37 records them.

The expected documents were read from a real kube-apiserver (tests/conformance runs the same
requests against both); these tests pin them on kubesim alone.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from kubesim import KubeSim

NP = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


def _policy(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web"}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, **spec},
    }


async def _send(
    api: KubeSim,
    method: str,
    path: str,
    body: Any,
    content_type: str = "application/json",
    **query: str,
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(headers={"User-Agent": "tester/1.0"}) as session,
        session.request(
            method, api.url + path, json=body, params=query, headers={"Content-Type": content_type}
        ) as resp,
    ):
        return resp.status, await resp.json()


def _owners(obj: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (entry["manager"], entry["operation"]): entry["fieldsV1"]
        for entry in obj["metadata"].get("managedFields", [])
    }


INGRESS = [{"ports": [{"port": 80}]}]


async def test_a_create_is_owned_by_the_user_agent_with_defaulted_fields(api: KubeSim) -> None:
    """POST records an Update entry for the agent's first word; defaulted fields count."""
    status, created = await _send(api, "POST", NP, _policy(ingress=INGRESS))
    assert status == 201
    [entry] = created["metadata"]["managedFields"]
    assert entry["manager"] == "tester"
    assert entry["operation"] == "Update"
    assert entry["apiVersion"] == "networking.k8s.io/v1"
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == {
        "f:spec": {"f:ingress": {}, "f:podSelector": {}, "f:policyTypes": {}}
    }


async def test_new_maps_and_sets_record_themselves(api: KubeSim) -> None:
    """Labels and finalizers created by a write carry a ``.`` entry; set members are ``v:``."""
    body = _policy(labels={"a": "1"})
    body["metadata"]["finalizers"] = ["example.com/x"]
    _, created = await _send(api, "POST", NP, body, fieldManager="m")
    assert _owners(created)["m", "Update"]["f:metadata"] == {
        "f:finalizers": {".": {}, 'v:"example.com/x"': {}},
        "f:labels": {".": {}, "f:a": {}},
    }


async def test_an_update_takes_the_fields_it_changes_from_other_managers(api: KubeSim) -> None:
    """A merge patch by carol moves ``labels.owner`` from alice's apply to carol's update."""
    await _send(
        api, "PATCH", f"{NP}/web", _policy(labels={"owner": "alice"}), APPLY, fieldManager="alice"
    )
    status, patched = await _send(
        api,
        "PATCH",
        f"{NP}/web",
        {"metadata": {"labels": {"owner": "carol"}}},
        MERGE,
        fieldManager="carol",
    )
    assert status == 200
    owners = _owners(patched)
    assert owners["alice", "Apply"] == {"f:spec": {"f:podSelector": {}}}
    assert owners["carol", "Update"] == {"f:metadata": {"f:labels": {"f:owner": {}}}}


async def test_conflicting_apply_is_409_with_one_cause_per_field(api: KubeSim) -> None:
    """Changing fields another manager applied is refused with FieldManagerConflict causes."""
    await _send(
        api,
        "PATCH",
        f"{NP}/web",
        _policy({"owner": "alice"}, policyTypes=["Ingress"]),
        APPLY,
        fieldManager="alice",
    )
    status, answer = await _send(
        api,
        "PATCH",
        f"{NP}/web",
        _policy({"owner": "bob"}, policyTypes=["Ingress", "Egress"]),
        APPLY,
        fieldManager="bob",
    )
    assert status == 409
    assert answer["reason"] == "Conflict"
    assert answer["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n'
        "- .metadata.labels.owner\n- .spec.policyTypes"
    )
    assert answer["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": field}
        for field in (".metadata.labels.owner", ".spec.policyTypes")
    ]


async def test_forced_apply_takes_ownership(api: KubeSim) -> None:
    """``force=true`` applies anyway and moves the contested fields to the new manager."""
    await _send(api, "PATCH", f"{NP}/web", _policy({"owner": "alice"}), APPLY, fieldManager="alice")
    status, forced = await _send(
        api,
        "PATCH",
        f"{NP}/web",
        _policy({"owner": "bob"}),
        APPLY,
        fieldManager="bob",
        force="true",
    )
    assert status == 200
    assert forced["metadata"]["labels"] == {"owner": "bob"}
    owners = _owners(forced)
    assert owners["alice", "Apply"] == {"f:spec": {"f:podSelector": {}}}
    assert owners["bob", "Apply"] == {
        "f:metadata": {"f:labels": {"f:owner": {}}},
        "f:spec": {"f:podSelector": {}},
    }
    status, _ = await _send(
        api, "PATCH", f"{NP}/web", _policy({"owner": "alice"}), APPLY, fieldManager="alice"
    )
    assert status == 409


async def test_fields_a_manager_stops_applying_are_removed_unless_shared(api: KubeSim) -> None:
    """Dropping ``ingress`` and label ``a`` removes them; label ``c`` (carol's) stays."""
    await _send(
        api, "PATCH", f"{NP}/web", _policy({"a": "1"}, ingress=INGRESS), APPLY, fieldManager="alice"
    )
    await _send(
        api, "PATCH", f"{NP}/web", {"metadata": {"labels": {"c": "3"}}}, MERGE, fieldManager="carol"
    )
    status, applied = await _send(
        api, "PATCH", f"{NP}/web", _policy({"b": "2"}), APPLY, fieldManager="alice"
    )
    assert status == 200
    assert applied["metadata"]["labels"] == {"c": "3", "b": "2"}
    assert "ingress" not in applied["spec"]


@pytest.mark.parametrize("query", [{}, {"fieldManager": ""}], ids=["absent", "empty"])
async def test_apply_without_a_field_manager_is_422(api: KubeSim, query: dict[str, str]) -> None:
    """An apply patch needs ``fieldManager``: 422 on PatchOptions, as upstream."""
    status, answer = await _send(api, "PATCH", f"{NP}/web", _policy(), APPLY, **query)
    assert status == 422
    assert answer["details"] == {
        "group": "meta.k8s.io",
        "kind": "PatchOptions",
        "causes": [
            {
                "reason": "FieldValueRequired",
                "message": "Required value: is required for apply patch",
                "field": "fieldManager",
            }
        ],
    }
