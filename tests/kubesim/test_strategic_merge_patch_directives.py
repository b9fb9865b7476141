"""Strategic merge patch semantics, unit by unit (no HTTP)."""

from __future__ import annotations

import copy

from kubesim import strategic

DEPLOYMENT = strategic.WORKLOAD


def test_maps_merge_and_null_deletes() -> None:
    """Plain maps merge recursively; ``null`` removes a key."""
    original = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    result = strategic.apply(
        original, {"metadata": {"labels": {"a": None, "c": "3"}}}, strategic.OBJECT
    )
    assert result == {"metadata": {"labels": {"b": "2", "c": "3"}}}


def test_inputs_are_not_mutated() -> None:
    """The original and the patch are left untouched."""
    original = {"metadata": {"finalizers": ["a"]}, "spec": {"x": [1]}}
    patch = {"metadata": {"finalizers": ["b"]}, "spec": {"x": [2]}}
    before = (copy.deepcopy(original), copy.deepcopy(patch))
    strategic.apply(original, patch, strategic.OBJECT)
    assert (original, patch) == before


def test_owner_references_merge_by_uid() -> None:
    """``metadata.ownerReferences`` merge on ``uid``; ``$patch: delete`` drops one."""
    original = {
        "metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}
    }
    patch = {
        "metadata": {
            "ownerReferences": [{"uid": "2", "name": "B"}, {"uid": "1", "$patch": "delete"}]
        }
    }
    result = strategic.apply(original, patch, strategic.OBJECT)
    assert result["metadata"]["ownerReferences"] == [{"uid": "2", "name": "B"}]


def test_patch_delete_on_a_map_removes_it() -> None:
    """``{"$patch": "delete"}`` as a map value deletes that map."""
    result = strategic.apply(
        {"spec": {"a": {"b": 1}, "c": 2}}, {"spec": {"a": {"$patch": "delete"}}}, strategic.OBJECT
    )
    assert result == {"spec": {"c": 2}}


def test_replace_directive_in_a_merge_list_replaces_it() -> None:
    """A ``{"$patch": "replace"}`` item makes the whole keyed list the patch's list."""
    original = {"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}}
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}}}}
    result = strategic.apply(original, patch, DEPLOYMENT)
    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "c"}]


def test_retain_keys_drops_unlisted_fields() -> None:
    """``$retainKeys`` clears fields of the original map that the list does not name."""
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert strategic.apply(original, patch, DEPLOYMENT)["spec"]["strategy"] == {"type": "Recreate"}


def test_set_element_order_orders_keyed_lists() -> None:
    """``$setElementOrder`` puts listed elements first, in the given order."""
    original = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}}
        }
    }
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                    "containers": [{"name": "c", "image": "x"}],
                }
            }
        }
    }
    result = strategic.apply(original, patch, DEPLOYMENT)
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["c", "a", "b"]
