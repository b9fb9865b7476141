"""The owner reference of a host copy (SPEC §3): one entry for the vCluster's Service, as
vCluster's ``setOwner`` writes it; ours is compared and replaced, everyone else's is kept."""

from __future__ import annotations

import copy
from typing import Any

import translate
from tests.support.harness import TARGET, VCLUSTER, as_stored
from translate import diff

SERVICE_UID = "5b0e7c1a-0000-4000-8000-000000000001"
NEW_UID = "5b0e7c1a-0000-4000-8000-000000000002"
FOREIGN = {
    "apiVersion": "example.com/v1",
    "kind": "Backup",
    "name": "nightly",
    "uid": "9f9f9f9f-0000-4000-8000-000000000009",
}


def _virtual() -> translate.NetworkPolicy:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u-1",
            # A virtual owner (an operator inside the vCluster) never reaches the host.
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "virtual-uid",
                    "controller": True,
                }
            ],
        },
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]},
    }


def _desired(uid: str | None) -> translate.NetworkPolicy:
    """The desired copy owned by the Service with ``uid``; with None, by no Service."""
    owners = [] if uid is None else [translate.service_owner_reference(VCLUSTER, uid)]
    return translate.with_owner(translate.to_host(_virtual(), TARGET), owners)


def _unknown_owner() -> translate.NetworkPolicy:
    """The desired copy while the Service has not been listed yet."""
    return translate.with_owner(translate.to_host(_virtual(), TARGET), None)


def test_the_reference_names_the_vcluster_service_like_vcluster_does() -> None:
    """apiVersion v1, kind Service, the vCluster's name and the Service's uid, not a
    controller, no blockOwnerDeletion (vCluster sets none)."""
    assert translate.service_owner_reference(VCLUSTER, SERVICE_UID) == {
        "apiVersion": "v1",
        "kind": "Service",
        "name": VCLUSTER,
        "uid": SERVICE_UID,
        "controller": False,
    }


def test_a_host_copy_carries_exactly_one_owner_the_service() -> None:
    """The virtual object's own owners are dropped; the Service is the only owner."""
    desired = _desired(SERVICE_UID)
    assert desired["metadata"]["ownerReferences"] == [
        translate.service_owner_reference(VCLUSTER, SERVICE_UID)
    ]


def test_without_a_service_the_copy_has_no_owner_reference() -> None:
    """While the Service does not exist, the copy is written without one."""
    assert _desired(None)["metadata"]["ownerReferences"] == []
    stored = as_stored(_desired(None))
    assert "ownerReferences" not in stored["metadata"]
    assert diff.owned_equal(_desired(None), stored, VCLUSTER)


def test_with_owner_never_mutates_its_input() -> None:
    translated = translate.to_host(_virtual(), TARGET)
    before = copy.deepcopy(translated)
    translate.with_owner(translated, [translate.service_owner_reference(VCLUSTER, SERVICE_UID)])
    assert translated == before


def test_an_unknown_owner_leaves_the_copys_owner_references_alone() -> None:
    """Before the Service was listed (a restart, or no RBAC for it yet) the copy's owner
    references, ours and others', are neither compared nor rewritten."""
    assert "ownerReferences" not in _unknown_owner()["metadata"]
    stored = as_stored(_desired(SERVICE_UID))
    stored["metadata"]["ownerReferences"].append(FOREIGN)
    assert diff.owned_equal(_unknown_owner(), stored, VCLUSTER)
    merged = diff.merged(_unknown_owner(), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == stored["metadata"]["ownerReferences"]


def test_a_missing_owner_reference_is_a_difference() -> None:
    """A copy written before the Service appeared is rewritten to carry it."""
    stored = as_stored(_desired(None))
    assert not diff.owned_equal(_desired(SERVICE_UID), stored, VCLUSTER)
    merged = diff.merged(_desired(SERVICE_UID), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [
        translate.service_owner_reference(VCLUSTER, SERVICE_UID)
    ]


def test_a_new_service_uid_replaces_the_old_one() -> None:
    """After the Service was re-created, the copy points at the new uid, once."""
    stored = as_stored(_desired(SERVICE_UID))
    assert diff.owned_equal(_desired(SERVICE_UID), stored, VCLUSTER)
    assert not diff.owned_equal(_desired(NEW_UID), stored, VCLUSTER)
    merged = diff.merged(_desired(NEW_UID), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [
        translate.service_owner_reference(VCLUSTER, NEW_UID)
    ]


def test_owner_references_of_others_are_kept_in_place() -> None:
    """A host tool's owner reference survives every write; ours keeps its position."""
    stored = as_stored(_desired(SERVICE_UID))
    stored["metadata"]["ownerReferences"] = [FOREIGN, *stored["metadata"]["ownerReferences"]]
    assert diff.owned_equal(_desired(SERVICE_UID), stored, VCLUSTER)
    merged = diff.merged(_desired(NEW_UID), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [
        FOREIGN,
        translate.service_owner_reference(VCLUSTER, NEW_UID),
    ]


def test_a_foreign_owner_alone_is_kept_and_ours_is_added() -> None:
    stored: dict[str, Any] = as_stored(_desired(None))
    stored["metadata"]["ownerReferences"] = [FOREIGN]
    merged = diff.merged(_desired(SERVICE_UID), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [
        FOREIGN,
        translate.service_owner_reference(VCLUSTER, SERVICE_UID),
    ]


def test_an_edited_owner_reference_of_ours_is_reverted() -> None:
    """A host-side edit of our entry (controller flipped, a blockOwnerDeletion added) is
    drift like any other and is reverted."""
    stored = as_stored(_desired(SERVICE_UID))
    stored["metadata"]["ownerReferences"][0]["controller"] = True
    stored["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = True
    assert not diff.owned_equal(_desired(SERVICE_UID), stored, VCLUSTER)
    merged = diff.merged(_desired(SERVICE_UID), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [
        translate.service_owner_reference(VCLUSTER, SERVICE_UID)
    ]


def test_a_service_of_another_vcluster_is_not_ours() -> None:
    """Only the Service named like this vCluster is our entry; another one is foreign."""
    other = translate.service_owner_reference("other", SERVICE_UID)
    stored = as_stored(_desired(None))
    stored["metadata"]["ownerReferences"] = [other]
    merged = diff.merged(_desired(SERVICE_UID), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [
        other,
        translate.service_owner_reference(VCLUSTER, SERVICE_UID),
    ]


def test_dropping_our_reference_keeps_the_others() -> None:
    """Desired without an owner (no Service ever seen) removes only our stale entry."""
    stored = as_stored(_desired(SERVICE_UID))
    stored["metadata"]["ownerReferences"].append(FOREIGN)
    merged = diff.merged(_desired(None), stored, VCLUSTER)
    assert merged["metadata"]["ownerReferences"] == [FOREIGN]
    stored["metadata"]["ownerReferences"] = stored["metadata"]["ownerReferences"][:1]
    assert "ownerReferences" not in diff.merged(_desired(None), stored, VCLUSTER)["metadata"]


def test_unknown_owners_leave_no_owner_references_behind() -> None:
    """With the owner not known yet (None), a copy that had owner references loses the key, so
    the write neither keeps a stale reference nor claims one."""
    owned = translate.with_owner(
        translate.to_host(_virtual(), TARGET),
        [translate.service_owner_reference(VCLUSTER, SERVICE_UID), FOREIGN],  # type: ignore[list-item]
    )
    assert "ownerReferences" in owned["metadata"]
    assert "ownerReferences" not in translate.with_owner(owned, None)["metadata"]
