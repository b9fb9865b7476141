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

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from syncer.runtime.clock import Clock
from translate import ObjectKey, markers
from translate.policy import key_of as key_of

Json = dict[str, Any]
Change = tuple[Json | None, Json | None]
"""``(old, new)``: ``old`` is None for an addition, ``new`` is None for a deletion."""

IndexValue = str | ObjectKey
"""What an index maps to keys: host-side indexes use a whole :class:`ObjectKey` (namespace and
name), so the same name in two host namespaces never shares an entry."""

IndexFunc = Callable[[Json], Iterable[IndexValue]]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


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
    """Objects by key plus secondary indexes. The single writer is one informer (STYLE point
    12): the reconciler only reads, so the store holds exactly what the API's list and watch
    said, in their order, and a write reply can never overtake a newer event or bring a deleted
    object back."""

    def __init__(
        self,
        *,
        strip: Callable[[Json], Json] = lambda obj: obj,
        indexers: Mapping[str, IndexFunc] | None = None,
        digests: bool = False,
    ) -> None:
        """``digests``: keep a content digest of every object (:meth:`digest`), so a reader can
        tell whether the stored object is exactly one it verified before without parsing it."""
        self._strip = strip
        self._digests = digests
        # key -> (resourceVersion, compact JSON of the stripped object, its digest or b"")
        self._objects: dict[ObjectKey, tuple[str | None, str, bytes]] = {}
        self._indexers = dict(indexers or {})
        # index name -> index value -> keys whose object yields that value
        self._indexes: dict[str, dict[IndexValue, set[ObjectKey]]] = {n: {} for n in self._indexers}
        # index name -> key -> the values its stored object yields (to unindex without parsing)
        self._indexed: dict[str, dict[ObjectKey, tuple[IndexValue, ...]]] = {
            n: {} for n in self._indexers
        }
        self.synced_version: str | None = None
        """The resourceVersion the store reflects as a whole: set by the informer after a
        complete list and after every watch event or bookmark it applied. Every change up to
        this version is in the store."""

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

    def digest(self, key: ObjectKey) -> bytes | None:
        """The stored object's content digest (None when absent; ``b""`` without digests)."""
        entry = self._objects.get(key)
        return None if entry is None else entry[2]

    def digest_of(self, obj: Json) -> bytes:
        """The digest ``obj`` would have once stored (e.g. a write reply, which the watch will
        deliver as the same object). Strips ``obj`` in place."""
        return _digest(_dumps(self._strip(obj)))

    def __iter__(self) -> Iterator[ObjectKey]:
        """Keys of a snapshot, so callers may await between items."""
        return iter(list(self._objects))

    def values(self) -> Iterator[Json]:
        """Parsed copies of a snapshot of the stored objects, one at a time."""
        return (_loads(entry[1]) for entry in list(self._objects.values()))

    def by_index(self, index: str, value: IndexValue) -> set[ObjectKey]:
        return set(self._indexes[index].get(value, ()))

    def index_values(self, index: str) -> list[str]:
        """Every string value ``index`` currently has (e.g. every namespace with baselines)."""
        return [value for value in self._indexes[index] if isinstance(value, str)]

    def index_keys(self, index: str) -> list[ObjectKey]:
        """Every key value ``index`` currently has (e.g. every owner of a host copy)."""
        return [value for value in self._indexes[index] if isinstance(value, ObjectKey)]

    def upsert(self, obj: Json) -> Change | None:
        """Store ``obj`` (stripped; it becomes the store's). Returns the change, or None when
        the stored object has the same resourceVersion (a relist of an unchanged object).

        Any other version replaces the stored one, older ones included: the informer applies
        events in the API's order, and after an etcd restore the API goes back in time too."""
        new = self._strip(obj)
        key = key_of(new)
        version = version_of(new)
        entry = self._objects.get(key)
        if entry is not None and entry[0] == version:
            return None
        data = _dumps(new)
        self._objects[key] = (version, data, _digest(data) if self._digests else b"")
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

        Only called with a whole, successful list, so a deletion here is real knowledge.
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
        :meth:`upsert`: forget every key not in ``listed``; the store then reflects the list's
        ``resource_version``."""
        changes: list[Change] = []
        for key in list(self._objects):
            if key not in listed:
                changes.append((self.remove(key), None))
        if resource_version is not None:
            self.synced_version = resource_version
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


class Expectations:
    """What this process wrote and waits to see in an informer's store (client-go's
    ControllerExpectations, per key): the store is written by its informer only, so right
    after a write it still shows the state before it. A reconcile that ran on that stale view
    would create a second time or write a version that is gone, so it waits until the store
    shows the write or anything newer; the watch event that brings it enqueues the key again.

    An expectation that is not met within ``ttl`` seconds is dropped (the watch may have been
    down); the reconciler then works from the store as it is and the API's conflicts keep it
    safe.
    """

    def __init__(self, store: Store, *, clock: Clock, ttl: float = 30.0) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        # key -> (resourceVersion written, or None for "deleted"; when it was recorded)
        self._pending: dict[ObjectKey, tuple[str | None, float]] = {}
        # keys a reconcile found pending: their echo must enqueue them again
        self._waited: set[ObjectKey] = set()

    def __len__(self) -> int:
        return len(self._pending)

    def written(self, key: ObjectKey, version: str | None) -> None:
        """A create or update of ``key`` returned ``version``."""
        self._pending[key] = (version, self._clock.now())

    def deleted(self, key: ObjectKey) -> None:
        """A delete of ``key`` succeeded (or found it gone)."""
        self._pending[key] = (None, self._clock.now())

    def pending(self, key: ObjectKey) -> bool:
        """Whether the store has yet to show the last write of ``key``; forgets met ones."""
        entry = self._pending.get(key)
        if entry is None:
            return False
        version, since = entry
        if version is None:
            met = key not in self._store
        else:
            met = self._store.version(key) == version or _at_least(
                self._store.synced_version, version
            )
        if met or self._clock.now() - since >= self._ttl:
            del self._pending[key]
            self._waited.discard(key)
            return False
        self._waited.add(key)
        return True

    def echo(self, key: ObjectKey, version: str | None) -> bool:
        """Called by the informer's handler for each stored object: True when it is exactly
        the version this process wrote and no reconcile waited for it. Such an echo needs no
        reconcile (its content is the write's reply, already recorded as in sync), which
        spares one per write; anything else is a change to look at."""
        entry = self._pending.get(key)
        if entry is None or version is None or entry[0] != version:
            return False
        del self._pending[key]
        if key in self._waited:
            self._waited.discard(key)
            return False
        return True


def _digest(data: str) -> bytes:
    return hashlib.blake2b(data.encode(), digest_size=16).digest()


def _loads(data: str) -> Json:
    parsed: Json = json.loads(data)
    return parsed


def version_of(obj: Mapping[str, Any]) -> str | None:
    """``metadata.resourceVersion`` as a string (None when missing)."""
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return str(version) if version is not None else None


def _at_least(first: str | None, second: str | None) -> bool:
    """Whether version ``first`` is known to be ``second`` or to come after it.

    resourceVersions are opaque by contract but integers on every etcd-backed server (and
    kubesim); with anything else, or a missing version, nothing is known and the answer is
    False (an expectation then waits for the exact version, or times out).
    """
    if first is None or second is None:
        return False
    try:
        return int(first) >= int(second)
    except ValueError:
        return False
