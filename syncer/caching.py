"""The informer's in-memory copy of one cluster's objects, keyed by :class:`ObjectKey`.

Objects are stripped at the door (``managedFields``, the last-applied annotation, and for the
virtual side everything translation does not read), because a cache of 10,000 policies per side
must stay within the memory budget. Secondary indexes answer "which virtual objects translate to
this host name" without a scan: that is how a host event finds every virtual key it concerns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from translate import ObjectKey, markers

Json = dict[str, Any]
Change = tuple[Json | None, Json | None]
"""``(old, new)``: ``old`` is None for an addition, ``new`` is None for a deletion."""

IndexFunc = Callable[[Json], Iterable[str]]


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return ObjectKey(namespace=meta.get("namespace", ""), name=meta.get("name", ""))


def strip_host(obj: Json) -> Json:
    """Host copies keep everything a PUT must send back except write-only bulk."""
    meta = obj.get("metadata") or {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if annotations:
        annotations.pop(markers.LAST_APPLIED, None)
    return obj


_VIRTUAL_META = ("name", "namespace", "uid", "resourceVersion", "labels", "deletionTimestamp")


def strip_virtual(obj: Json) -> Json:
    """Virtual objects keep only what translation and event recording read."""
    meta = obj.get("metadata") or {}
    kept: Json = {k: meta[k] for k in _VIRTUAL_META if k in meta}
    annotations = meta.get("annotations")
    if annotations:
        annotations.pop(markers.LAST_APPLIED, None)
        if annotations:
            kept["annotations"] = annotations
    return {"metadata": kept, "spec": obj.get("spec") or {}}


class Store:
    """Objects by key plus secondary indexes; the single writer is one informer.

    Readers (the reconciler) get the stored dict itself: treat it as read-only.
    """

    def __init__(
        self,
        *,
        strip: Callable[[Json], Json] = lambda obj: obj,
        indexers: Mapping[str, IndexFunc] | None = None,
        written_through: bool = False,
    ) -> None:
        """``written_through``: the reconciler also stores its own write results here, so a
        list or a replayed watch event can be older than what is stored and must not win. Only
        the host store is written through; the virtual store takes every list as the truth."""
        self._strip = strip
        self._written_through = written_through
        self._objects: dict[ObjectKey, Json] = {}
        self._indexers = dict(indexers or {})
        # index name -> index value -> keys whose object yields that value
        self._indexes: dict[str, dict[str, set[ObjectKey]]] = {n: {} for n in self._indexers}

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def get(self, key: ObjectKey) -> Json | None:
        return self._objects.get(key)

    def __iter__(self) -> Iterator[ObjectKey]:
        """Keys of a snapshot, so callers may await between items."""
        return iter(list(self._objects))

    def values(self) -> Iterator[Json]:
        return iter(list(self._objects.values()))

    def by_index(self, index: str, value: str) -> set[ObjectKey]:
        return set(self._indexes[index].get(value, ()))

    def upsert(self, obj: Json) -> Change:
        """Store ``obj`` (stripped); returns the change, or ``(old, old)`` when the stored
        version is the same resourceVersion (a write-through echoed by the watch) or a newer
        one (a watch replaying an event older than what the reconciler wrote through)."""
        new = self._strip(obj)
        key = key_of(new)
        old = self._objects.get(key)
        if old is not None and (
            _version(old) == _version(new)
            or (self._written_through and _newer(_version(old), _version(new)))
        ):
            return old, old
        self._objects[key] = new
        self._reindex(key, old, new)
        return old, new

    def remove(self, key: ObjectKey) -> Json | None:
        old = self._objects.pop(key, None)
        if old is not None:
            self._reindex(key, old, None)
        return old

    def replace(
        self, objects: Iterable[Json], *, resource_version: str | None = None
    ) -> list[Change]:
        """Make the store equal a complete LIST; returns what changed (deletions included).

        Only called with a whole, successful list, so a deletion here is real knowledge, except
        for objects stored after the list's snapshot (``resource_version``): the reconciler
        writes its own results through while a relist is under way, and such an object is
        missing from (or older in) the list only because the list is older. Those are kept;
        the watch resumes from the snapshot and reports what happened to them since.
        """
        changes: list[Change] = []
        seen: set[ObjectKey] = set()
        for obj in objects:
            old, new = self.upsert(obj)
            seen.add(key_of(obj))
            if old is not new:
                changes.append((old, new))
        for key, obj in list(self._objects.items()):
            if key not in seen and not (
                self._written_through and _newer(_version(obj), resource_version)
            ):
                changes.append((self.remove(key), None))
        return changes

    def _reindex(self, key: ObjectKey, old: Json | None, new: Json | None) -> None:
        for name, func in self._indexers.items():
            index = self._indexes[name]
            for value in func(old) if old is not None else ():
                members = index.get(value)
                if members is not None:
                    members.discard(key)
                    if not members:
                        del index[value]
            for value in func(new) if new is not None else ():
                index.setdefault(value, set()).add(key)


def _version(obj: Mapping[str, Any]) -> str | None:
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return str(version) if version is not None else None


def _newer(first: str | None, second: str | None) -> bool:
    """Whether version ``first`` is known to come after ``second``.

    resourceVersions are opaque by contract but integers on every etcd-backed server (and
    kubesim); with anything else, or a missing version, nothing is known and the answer is
    False, which keeps plain replace-on-difference behaviour.
    """
    if first is None or second is None:
        return False
    try:
        return int(first) > int(second)
    except ValueError:
        return False
