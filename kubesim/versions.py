"""Stored versions and their history: what storage keeps and watches replay.

An :class:`Entry` is one version of one object, serialized exactly once (GET, LIST and WATCH
reuse its bytes) plus the few fields selectors need; an :class:`Event` records one change for
watch replay and for rebuilding past list snapshots; a :class:`Bucket` holds one resource's
current entries, its bounded history and its watch subscribers. :mod:`kubesim.storage`
decides what is written; this module only represents it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from kubesim import errors
from kubesim.resources import ResourceType
from kubesim.selectors import FieldGetter

JsonObject = dict[str, Any]
ObjectKey = tuple[str, str]
"""(namespace, name); the namespace is ``""`` for cluster-scoped objects."""
EventType = Literal["ADDED", "MODIFIED", "DELETED"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(obj: Any) -> bytes:
    """The one JSON encoding used for stored objects (compact, UTF-8, like Go)."""
    return _ENCODER.encode(obj).encode()


class Clock:
    """Wall-clock timestamps in RFC 3339 seconds, cached per second (writes are frequent)."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        """The current time as ``2006-01-02T15:04:05Z``."""
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        return self._text


_NO_LABELS: dict[str, str] = {}


class Entry:
    """One stored version of an object: its bytes plus the few fields reads filter on.

    The decoded object is deliberately not kept: ten thousand stored policies as nested dicts
    are hundreds of thousands of objects for Python's cycle collector to walk on every full
    collection, which slowed down the whole process (including the client under test). Writes
    decode :meth:`copy` when they need the old state; selectors use ``labels``/``fields``.
    """

    __slots__ = ("deleting", "fields", "finalizers", "key", "labels", "raw", "rv", "uid")

    def __init__(
        self,
        key: ObjectKey,
        obj: JsonObject,
        rv: int,
        getters: Mapping[str, FieldGetter] | None = None,
    ) -> None:
        self.key = key
        self.rv = rv
        self.raw = dumps(obj)
        meta = obj["metadata"]
        self.uid: str = meta.get("uid", "")
        self.labels: dict[str, str] = meta.get("labels") or _NO_LABELS
        self.deleting = bool(meta.get("deletionTimestamp"))
        self.finalizers: tuple[str, ...] = tuple(meta.get("finalizers") or ())
        self.fields: dict[str, str | None] = (
            {name: get(obj) for name, get in getters.items()} if getters else {}
        )

    def field(self, name: str) -> str | None:
        """The value of a selectable field (``metadata.name``, ``involvedObject.kind``, ...)."""
        if name == "metadata.name":
            return self.key[1]
        if name == "metadata.namespace":
            return self.key[0]
        return self.fields.get(name)

    def copy(self) -> JsonObject:
        """A deep, mutable copy of the object, decoded from the stored bytes."""
        result: JsonObject = json.loads(self.raw)
        return result

    def restamped(self, rv: int) -> Entry:
        """The same object with another resourceVersion (the DELETED event's payload)."""
        obj = self.copy()
        obj["metadata"]["resourceVersion"] = str(rv)
        entry = Entry(self.key, obj, rv)
        entry.fields = self.fields
        return entry


class Event:
    """One change of one object, kept in the history for watch replay and list snapshots.

    ``entry`` is what watchers receive (for DELETED: the last state, stamped with the
    deletion's resourceVersion); ``prev`` is the stored version before the change.
    """

    __slots__ = ("_line", "entry", "prev", "rv", "type")

    def __init__(self, type_: EventType, entry: Entry, prev: Entry | None) -> None:
        self.type = type_
        self.entry = entry
        self.prev = prev
        self.rv = entry.rv
        self._line: bytes | None = None

    def line(self, type_: str | None = None) -> bytes:
        """The watch-stream line for this event (cached for its own type)."""
        if type_ is None or type_ == self.type:
            if self._line is None:
                self._line = watch_line(self.type, self.entry.raw)
            return self._line
        return watch_line(type_, self.entry.raw)


def watch_line(type_: str, raw: bytes) -> bytes:
    """``{"type":...,"object":...}`` plus newline, as the API server frames watch events."""
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


class Subscriber(Protocol):
    """A watch: receives every event of its resource, synchronously, in order."""

    def offer(self, event: Event) -> None:
        """Called for each new event of the subscribed resource."""


class Bucket:
    """All objects of one resource type plus its event history and subscribers."""

    def __init__(self, rtype: ResourceType, history: int) -> None:
        self.rtype = rtype
        self.objects: dict[ObjectKey, Entry] = {}
        self.history: deque[Event] = deque()
        self.capacity = history
        self.compacted_rv = 0
        """Events with a resourceVersion at or below this are gone from the history."""
        self.subscribers: set[Subscriber] = set()
        self._sorted: list[ObjectKey] | None = None

    def sorted_keys(self) -> list[ObjectKey]:
        """Keys in etcd order (namespace, then name); cached until an add or a removal."""
        if self._sorted is None:
            self._sorted = sorted(self.objects)
        return self._sorted

    def put(self, entry: Entry) -> None:
        if entry.key not in self.objects:
            self._sorted = None
        self.objects[entry.key] = entry

    def remove(self, key: ObjectKey) -> None:
        del self.objects[key]
        self._sorted = None

    def record(self, event: Event) -> None:
        self.history.append(event)
        while len(self.history) > self.capacity:
            self.compacted_rv = self.history.popleft().rv
        for sub in list(self.subscribers):
            sub.offer(event)

    def events_since(self, rv: int) -> list[Event]:
        """Events newer than ``rv`` (caller checked ``rv >= compacted_rv``)."""
        newer: list[Event] = []
        for event in reversed(self.history):
            if event.rv <= rv:
                break
            newer.append(event)
        newer.reverse()
        return newer


def parse_rv(value: str | None, what: str = "resourceVersion") -> int | None:
    """``None`` for unset, else the integer; garbage is a 400 like upstream."""
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise errors.bad_request(f"invalid resource version: {rv_syntax_error(value, what)}")
    return int(value)


def rv_syntax_error(value: str, what: str = "resourceVersion") -> str:
    """Upstream's wording for an unparsable version (Go's ``strconv.ParseUint`` error)."""
    return f'{what}: Invalid value: "{value}": strconv.ParseUint: parsing "{value}": invalid syntax'
