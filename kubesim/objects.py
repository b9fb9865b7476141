"""The versioned buckets behind :class:`~kubesim.storage.Storage`: reads, commits, history.

One global, strictly increasing ``resourceVersion`` is handed out here; every committed
version becomes an :class:`~kubesim.versions.Entry` in its resource's bucket and an event in
that bucket's bounded history, which watches replay and LIST snapshots rebuild from. Writes
(:mod:`kubesim.storage`), deletion (:mod:`kubesim.deleting`) and admission
(:mod:`kubesim.admission`) build on this class.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubesim import errors, listing
from kubesim.listing import ListResult
from kubesim.resources import Registry, ResourceType
from kubesim.selectors import EVERYTHING, NOTHING, FieldSelector, LabelSelector
from kubesim.versions import Bucket, Clock, Entry, Event, EventType, ObjectKey, Subscriber

JsonObject = dict[str, Any]

DEFAULT_HISTORY = 100_000
"""Events kept per resource; big enough that a 10,000-object benchmark never sees 410."""


@dataclass(slots=True)
class WriteResult:
    """What a write returns: the resulting version and the ``Warning`` headers to send."""

    entry: Entry
    warnings: list[str] = field(default_factory=list)
    created: bool = False
    deleted: bool = False
    """For deletes: False when finalizers only set ``deletionTimestamp``."""


class ObjectStore:
    """Buckets, the global version counter and reads. Not thread-safe: event loop only."""

    def __init__(self, registry: Registry, *, history: int = DEFAULT_HISTORY) -> None:
        self.registry = registry
        self.history = history
        self.rv = 0
        self.clock = Clock()
        self._buckets: dict[int, Bucket] = {}
        self._namespaces = self.bucket(registry.resolve("namespaces"))

    def bucket(self, rtype: ResourceType) -> Bucket:
        """The bucket of a resource type (created on first use)."""
        bucket = self._buckets.get(id(rtype))
        if bucket is None:
            bucket = self._buckets[id(rtype)] = Bucket(rtype, self.history)
        return bucket

    def buckets(self) -> builtins.list[Bucket]:
        """Every bucket created so far."""
        return list(self._buckets.values())

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _key(self, rtype: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return (namespace or "", name) if rtype.namespaced else ("", name)

    def subscribe(self, rtype: ResourceType, sub: Subscriber) -> None:
        """Start delivering events of ``rtype`` to ``sub``."""
        self.bucket(rtype).subscribers.add(sub)

    def unsubscribe(self, rtype: ResourceType, sub: Subscriber) -> None:
        """Stop delivering events to ``sub`` (idempotent)."""
        self.bucket(rtype).subscribers.discard(sub)

    def compact(self, rtype: ResourceType | None = None) -> None:
        """Forget the event history so watches and continues from older versions get 410."""
        for bucket in [self.bucket(rtype)] if rtype else self.buckets():
            bucket.history.clear()
            bucket.compacted_rv = self.rv

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Entry:
        """The current version, or 404."""
        entry = self.bucket(rtype).objects.get(self._key(rtype, namespace, name))
        if entry is None:
            raise errors.not_found(rtype.group_resource, name)
        return entry

    def find(self, rtype: ResourceType, namespace: str | None, name: str) -> Entry | None:
        """The current version or ``None``."""
        return self.bucket(rtype).objects.get(self._key(rtype, namespace, name))

    def namespace_exists(self, name: str) -> bool:
        """Whether a Namespace object of that name exists (terminating or not)."""
        return ("", name) in self._namespaces.objects

    def list(
        self,
        rtype: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: LabelSelector = EVERYTHING,
        field_selector: FieldSelector = NOTHING,
        limit: int = 0,
        continue_token: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ListResult:
        """LIST with upstream's resourceVersion semantics (see :func:`listing.list_bucket`)."""
        return listing.list_bucket(
            self.bucket(rtype),
            self.rv,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            continue_token=continue_token,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
        )

    def iter_entries(self, rtype: ResourceType) -> Iterator[Entry]:
        """Current versions in key order (used by initial watch events)."""
        bucket = self.bucket(rtype)
        for key in bucket.sorted_keys():
            yield bucket.objects[key]

    def _commit(
        self, bucket: Bucket, obj: JsonObject, type_: EventType, prev: Entry | None
    ) -> Entry:
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        meta = obj["metadata"]
        key = (
            (meta.get("namespace", ""), meta["name"])
            if bucket.rtype.namespaced
            else ("", meta["name"])
        )
        entry = Entry(key, obj, rv, bucket.rtype.extra_fields)
        bucket.put(entry)
        bucket.record(Event(type_, entry, prev))
        return entry

    def _remove_quiet(self, bucket: Bucket, current: Entry) -> None:
        """Remove without re-checking namespace finalization (the caller does it once)."""
        rv = self._next_rv()
        bucket.remove(current.key)
        bucket.record(Event("DELETED", current.restamped(rv), current))
