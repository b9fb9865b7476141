"""``caching.Store``: the informer's cache reports every real change exactly once, keeps its
indexes consistent, and strips objects at the door; ``caching.Expectations`` waits for a
write to show in it."""

from __future__ import annotations

from typing import Any

from syncer.pipeline import caching
from syncer.runtime import clock as clocks
from translate import ObjectKey, markers


def _obj(name: str, rv: int, namespace: str = "default", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv), **meta},
        "spec": {"podSelector": {}},
    }


def _store() -> caching.Store:
    """A store indexed by the ``app`` label, with digests like the controller's host store."""
    return caching.Store(
        indexers={"app": lambda o: [(o["metadata"].get("labels") or {}).get("app", "")]},
        digests=True,
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
        """A relist of an unchanged object reports ``None``, so it enqueues nothing."""
        store = _store()
        store.upsert(_obj("a", 1))
        assert store.upsert(_obj("a", 1)) is None

    def test_the_store_follows_the_api_even_backwards(self) -> None:
        """Only the informer writes the store, in the API's order: whatever version it brings
        is the truth (e.g. after an etcd restore)."""
        store = _store()
        store.upsert(_obj("a", 12))
        assert store.upsert(_obj("a", 10)) is not None
        assert store.version(ObjectKey("default", "a")) == "10"

    def test_the_digest_is_that_of_the_stored_content(self) -> None:
        """A write reply's digest (``digest_of``) equals the stored digest of the same object,
        and any other content has another one."""
        store = caching.Store(strip=caching.strip_host, digests=True)
        store.upsert(_obj("a", 1, managedFields=[{"manager": "x"}]))
        key = ObjectKey("default", "a")
        assert store.digest(key) == store.digest_of(_obj("a", 1))
        assert store.digest(key) != store.digest_of(_obj("a", 1, labels={"app": "x"}))
        assert store.digest(ObjectKey("default", "b")) is None

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

    def test_a_complete_list_is_the_whole_truth(self) -> None:
        """A list is the truth, newer cached versions included, and the store then reflects
        the list's version."""
        store = _store()
        store.upsert(_obj("only-in-cache", 12))
        changes = store.replace([], resource_version="10")
        assert len(changes) == 1
        assert len(store) == 0
        assert store.synced_version == "10"

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


class TestExpectations:
    """What the reconciler wrote and waits to see in the host store."""

    def _expectations(self) -> tuple[caching.Store, caching.Expectations, clocks.FakeClock]:
        store = _store()
        clock = clocks.FakeClock()
        return store, caching.Expectations(store, clock=clock, ttl=30.0), clock

    def test_a_write_is_pending_until_the_store_shows_its_version(self) -> None:
        """After a write replied version 5, the store at version 4 is stale; at 5 it is not."""
        store, expectations, _ = self._expectations()
        key = ObjectKey("default", "a")
        store.upsert(_obj("a", 4))
        expectations.written(key, "5")
        assert expectations.pending(key)
        store.upsert(_obj("a", 5))
        assert not expectations.pending(key)
        assert len(expectations) == 0

    def test_a_newer_state_meets_the_expectation_even_without_the_object(self) -> None:
        """A deletion after the write (the store reflects version 7, the object is gone) is
        newer than the write: the reconciler must act on it, not wait for a ghost."""
        store, expectations, _ = self._expectations()
        key = ObjectKey("default", "a")
        expectations.written(key, "5")
        store.synced_version = "4"
        assert expectations.pending(key)
        store.synced_version = "7"
        assert not expectations.pending(key)

    def test_a_delete_is_pending_while_the_store_still_has_the_object(self) -> None:
        """A deleted copy still in the store is not acted on again until the watch says so."""
        store, expectations, _ = self._expectations()
        key = ObjectKey("default", "a")
        store.upsert(_obj("a", 4))
        expectations.deleted(key)
        assert expectations.pending(key)
        store.remove(key)
        assert not expectations.pending(key)

    def test_an_expectation_is_dropped_after_its_ttl(self) -> None:
        """A watch that never shows the write does not block the key for ever."""
        _, expectations, clock = self._expectations()
        key = ObjectKey("default", "a")
        expectations.written(key, "5")
        clock.advance(29.0)
        assert expectations.pending(key)
        clock.advance(1.0)
        assert not expectations.pending(key)

    def test_the_echo_of_a_write_needs_no_reconcile_unless_one_waited(self) -> None:
        """The watch bringing back exactly the written version is no news, unless a reconcile
        was skipped while waiting for it; any other version always is."""
        _, expectations, _ = self._expectations()
        quiet, waited = ObjectKey("default", "a"), ObjectKey("default", "b")
        expectations.written(quiet, "5")
        expectations.written(waited, "6")
        assert expectations.pending(waited)
        assert not expectations.echo(quiet, "4")
        assert expectations.echo(quiet, "5")
        assert not expectations.echo(waited, "6")
        assert len(expectations) == 0
        assert not expectations.echo(quiet, "5")
