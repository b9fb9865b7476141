"""The informer's in-memory copy of one cluster's objects, keyed by :class:`ObjectKey`.

Objects are stripped at the door (``managedFields``, the last-applied annotation, and for the
virtual side everything translation does not read) and kept as compact JSON bytes: a parsed
NetworkPolicy is ~25 dicts and ~100 strings (8-9 KB, the dicts tracked by the cyclic garbage
collector), its JSON one 1-2 KB string the collector ignores. 10,000 policies per side then cost
~30 MB instead of ~160 MB, and full collections no longer stall the loop for hundreds of
milliseconds. A reader gets a freshly parsed dict (~15 µs), which it may keep or modify.

Secondary indexes answer "which virtual objects translate to this host name" without a scan:
that is how a host event finds every virtual key it concerns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from translate import ObjectKey, markers

Json = dict[str, Any]
Change = tuple[Json | None, Json | None]
"""``(old, new)``: ``old`` is None for an addition, ``new`` is None for a deletion."""

IndexFunc = Callable[[Json], Iterable[str]]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


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
    """Objects by key plus secondary indexes; the single writer is one informer (and, for a
    written-through store, the reconciler storing its own write results)."""

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
        # key -> (resourceVersion, compact JSON of the stripped object)
        self._objects: dict[ObjectKey, tuple[str | None, str]] = {}
        self._indexers = dict(indexers or {})
        # index name -> index value -> keys whose object yields that value
        self._indexes: dict[str, dict[str, set[ObjectKey]]] = {n: {} for n in self._indexers}
        # index name -> key -> the values its stored object yields (to unindex without parsing)
        self._indexed: dict[str, dict[ObjectKey, tuple[str, ...]]] = {n: {} for n in self._indexers}

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def get(self, key: ObjectKey) -> Json | None:
        """A freshly parsed copy of the stored object (the caller owns it), or None."""
        entry = self._objects.get(key)
        return None if entry is None else _loads(entry[1])

    def version(self, key: ObjectKey) -> str | None:
        """The stored object's resourceVersion without parsing it (None when absent)."""
        entry = self._objects.get(key)
        return None if entry is None else entry[0]

    def __iter__(self) -> Iterator[ObjectKey]:
        """Keys of a snapshot, so callers may await between items."""
        return iter(list(self._objects))

    def values(self) -> Iterator[Json]:
        """Parsed copies of a snapshot of the stored objects, one at a time."""
        return (_loads(data) for _, data in list(self._objects.values()))

    def by_index(self, index: str, value: str) -> set[ObjectKey]:
        return set(self._indexes[index].get(value, ()))

    def index_values(self, index: str) -> list[str]:
        """Every value ``index`` currently has (e.g. every owner of a host copy)."""
        return list(self._indexes[index])

    def upsert(self, obj: Json) -> Change | None:
        """Store ``obj`` (stripped; it becomes the store's). Returns the change, or None when
        the stored version is the same resourceVersion (a write-through echoed by the watch) or,
        in a written-through store, a newer one (a watch replaying an older event)."""
        new = self._strip(obj)
        key = key_of(new)
        version = _version(new)
        entry = self._objects.get(key)
        if entry is not None and (
            entry[0] == version or (self._written_through and _newer(entry[0], version))
        ):
            return None
        self._objects[key] = (version, _dumps(new))
        self._reindex(key, new)
        return (None if entry is None else _loads(entry[1])), new

    def remove(self, key: ObjectKey) -> Json | None:
        """Forget ``key``; returns the object it had (parsed), or None."""
        entry = self._objects.pop(key, None)
        if entry is None:
            return None
        self._reindex(key, None)
        return _loads(entry[1])

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
            seen.add(key_of(obj))
            change = self.upsert(obj)
            if change is not None:
                changes.append(change)
        return changes + self.remove_unlisted(seen, resource_version=resource_version)

    def remove_unlisted(
        self, listed: set[ObjectKey], *, resource_version: str | None = None
    ) -> list[Change]:
        """The deletion half of :meth:`replace`, for a list fed page by page through
        :meth:`upsert`: forget every key not in ``listed`` (unless written after the list)."""
        changes: list[Change] = []
        for key, (version, _) in list(self._objects.items()):
            if key not in listed and not (
                self._written_through and _newer(version, resource_version)
            ):
                changes.append((self.remove(key), None))
        return changes

    def _reindex(self, key: ObjectKey, new: Json | None) -> None:
        for name, func in self._indexers.items():
            index = self._indexes[name]
            indexed = self._indexed[name]
            for value in indexed.pop(key, ()):
                members = index.get(value)
                if members is not None:
                    members.discard(key)
                    if not members:
                        del index[value]
            if new is None:
                continue
            values = tuple(func(new))
            if values:
                indexed[key] = values
            for value in values:
                index.setdefault(value, set()).add(key)


def _loads(data: str) -> Json:
    parsed: Json = json.loads(data)
    return parsed


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
