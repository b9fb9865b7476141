"""``caching.Store``: the informer's cache reports every real change exactly once, keeps its
indexes consistent, and strips objects at the door."""

from __future__ import annotations

from typing import Any

from syncer import caching
from translate import ObjectKey, markers


def _obj(name: str, rv: int, namespace: str = "default", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv), **meta},
        "spec": {"podSelector": {}},
    }


def _store(*, written_through: bool = True) -> caching.Store:
    """A store indexed by the ``app`` label, written through like the controller's host store."""
    return caching.Store(
        indexers={"app": lambda o: [(o["metadata"].get("labels") or {}).get("app", "")]},
        written_through=written_through,
    )


class TestUpsert:
    def test_an_addition_is_reported_with_no_old_object(self) -> None:
        """A new key comes back as ``(None, new)``."""
        store = _store()
        change = store.upsert(_obj("a", 1))
        assert change is not None
        old, new = change
        assert old is None
        assert store.get(ObjectKey("default", "a")) == new

    def test_a_new_version_is_reported_with_the_old_one(self) -> None:
        """A different resourceVersion replaces the stored object and reports both."""
        store = _store()
        store.upsert(_obj("a", 1))
        change = store.upsert(_obj("a", 2))
        assert change is not None
        old, new = change
        assert old == _obj("a", 1)
        assert new == _obj("a", 2)
        assert store.version(ObjectKey("default", "a")) == "2"

    def test_the_same_version_again_is_no_change(self) -> None:
        """An echo of a write the reconciler already stored (the watch event) reports
        ``None``, so it enqueues nothing."""
        store = _store()
        store.upsert(_obj("a", 1))
        assert store.upsert(_obj("a", 1)) is None

    def test_an_older_version_never_replaces_a_newer_one(self) -> None:
        """A watch replaying an event older than what the reconciler wrote through is no
        change: the cache never goes back in time."""
        store = _store()
        store.upsert(_obj("a", 12))
        assert store.upsert(_obj("a", 10)) is None
        assert store.version(ObjectKey("default", "a")) == "12"

    def test_a_store_nobody_writes_through_takes_every_version(self) -> None:
        """The virtual store follows the API even backwards (e.g. after an etcd restore)."""
        store = _store(written_through=False)
        store.upsert(_obj("a", 12))
        assert store.upsert(_obj("a", 10)) is not None
        assert store.version(ObjectKey("default", "a")) == "10"

    def test_the_index_follows_a_label_change(self) -> None:
        """Changing the indexed value moves the key from the old value to the new one."""
        store = _store()
        store.upsert(_obj("a", 1, labels={"app": "x"}))
        store.upsert(_obj("a", 2, labels={"app": "y"}))
        assert store.by_index("app", "x") == set()
        assert store.by_index("app", "y") == {ObjectKey("default", "a")}


class TestRemove:
    def test_removal_returns_the_object_once(self) -> None:
        """Removing returns the stored object; removing again returns None (nothing to report)."""
        store = _store()
        store.upsert(_obj("a", 1, labels={"app": "x"}))
        assert store.remove(ObjectKey("default", "a")) == _obj("a", 1, labels={"app": "x"})
        assert store.remove(ObjectKey("default", "a")) is None
        assert store.by_index("app", "x") == set()
        assert len(store) == 0


class TestReplace:
    def test_a_complete_list_reports_additions_changes_and_deletions(self) -> None:
        """Replacing with a relist reports what differs, deletions included, and nothing else."""
        store = _store()
        store.upsert(_obj("same", 1))
        store.upsert(_obj("changed", 2))
        store.upsert(_obj("gone", 3, labels={"app": "x"}))
        changes = store.replace([_obj("same", 1), _obj("changed", 4), _obj("new", 5)])
        described = sorted(
            (
                (old or {}).get("metadata", {}).get("name", "-"),
                (new or {}).get("metadata", {}).get("name", "-"),
            )
            for old, new in changes
        )
        assert described == [("-", "new"), ("changed", "changed"), ("gone", "-")]
        assert sorted(k.name for k in store) == ["changed", "new", "same"]
        assert store.by_index("app", "x") == set()

    def test_objects_written_after_the_snapshot_are_kept(self) -> None:
        """A relist's snapshot (``resource_version``) predates what the reconciler stored since
        (write-through): such an object is neither deleted nor set back to the listed version;
        the watch, resuming from the snapshot, brings whatever came after it."""
        store = _store()
        store.upsert(_obj("listed-then-updated", 5))
        store.upsert(_obj("created-after-the-list", 12))
        store.upsert(_obj("deleted-before-the-list", 3))
        changes = store.replace([_obj("listed-then-updated", 4)], resource_version="10")
        assert [(old and old["metadata"]["name"], new) for old, new in changes] == [
            ("deleted-before-the-list", None)
        ]
        kept = store.get(ObjectKey("default", "listed-then-updated"))
        assert kept is not None
        assert kept["metadata"]["resourceVersion"] == "5"
        assert ObjectKey("default", "created-after-the-list") in store

    def test_a_store_nobody_writes_through_trusts_the_list(self) -> None:
        """Without write-through a complete list is the whole truth, newer versions included."""
        store = _store(written_through=False)
        store.upsert(_obj("only-in-cache", 12))
        changes = store.replace([], resource_version="10")
        assert len(changes) == 1
        assert len(store) == 0

    def test_an_empty_list_empties_the_store(self) -> None:
        """A relist that returns nothing reports every object as deleted."""
        store = _store()
        for i in range(3):
            store.upsert(_obj(f"p{i}", i + 1))
        assert len(store.replace([])) == 3
        assert len(store) == 0


class TestReads:
    def test_iteration_is_over_a_snapshot(self) -> None:
        """Keys and values may be iterated while the store changes (a reconciler awaits)."""
        store = _store()
        for i in range(3):
            store.upsert(_obj(f"p{i}", i + 1))
        for key in store:
            store.remove(key)
            store.upsert(_obj(f"q-{key.name}", 10))
        assert len(list(store.values())) == 3

    def test_index_results_are_copies(self) -> None:
        """Changing a returned set does not change the index."""
        store = _store()
        store.upsert(_obj("a", 1, labels={"app": "x"}))
        store.by_index("app", "x").clear()
        assert store.by_index("app", "x") == {ObjectKey("default", "a")}

    def test_reads_are_private_copies(self) -> None:
        """A reader may change what it got without changing the store."""
        store = _store()
        store.upsert(_obj("a", 1))
        got = store.get(ObjectKey("default", "a"))
        assert got is not None
        got["spec"]["podSelector"]["matchLabels"] = {"x": "y"}
        assert store.get(ObjectKey("default", "a")) == _obj("a", 1)


class TestStripping:
    def test_host_objects_lose_managed_fields_and_last_applied(self) -> None:
        """What a PUT must send back stays; write-only bulk goes."""
        store = caching.Store(strip=caching.strip_host)
        obj = _obj(
            "a",
            1,
            managedFields=[{"manager": "kubectl"}],
            annotations={markers.LAST_APPLIED: "{}", "keep": "me"},
            uid="u",
        )
        store.upsert(obj)
        stored = store.get(ObjectKey("default", "a"))
        assert stored is not None
        assert "managedFields" not in stored["metadata"]
        assert stored["metadata"]["annotations"] == {"keep": "me"}
        assert stored["metadata"]["uid"] == "u"

    def test_virtual_objects_keep_only_what_translation_and_events_read(self) -> None:
        """Identity, version, labels, annotations, deletion mark and spec; nothing else."""
        store = caching.Store(strip=caching.strip_virtual)
        obj = _obj(
            "a",
            1,
            uid="u",
            labels={"app": "x"},
            annotations={markers.LAST_APPLIED: "{}", "note": "n"},
            managedFields=[{}],
            ownerReferences=[{}],
            finalizers=["f"],
            creationTimestamp="2020-01-01T00:00:00Z",
        )
        obj["status"] = {}
        store.upsert(obj)
        assert store.get(ObjectKey("default", "a")) == {
            "metadata": {
                "name": "a",
                "namespace": "default",
                "uid": "u",
                "resourceVersion": "1",
                "labels": {"app": "x"},
                "annotations": {"note": "n"},
            },
            "spec": {"podSelector": {}},
        }
