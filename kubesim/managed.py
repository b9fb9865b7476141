"""``metadata.managedFields``: who owns which field, and server-side apply conflicts.

kube-apiserver records, per field manager and operation, the set of fields the manager set
(``fieldsV1``). kubectl, Helm and controllers using server-side apply read it, and an apply
that would change a field another manager owns fails with 409 unless forced. This module
models the part clients observe:

* **Update** (POST, PUT, non-apply PATCH): the manager (``fieldManager``, else the first word
  of the User-Agent) takes every field whose value it changed; other managers lose those, and
  fields that left the object leave every set. Maps record themselves (``.``) when created.
* **Apply**: the manager owns exactly the fields of its applied configuration (leaves only);
  a field another manager owns with a different value is a conflict; ``force`` moves it.
  Fields the manager applied before and no longer lists are removed from the object unless
  another manager owns them.

Field sets follow the typed schema (:mod:`kubesim.schema`): structs recurse, maps recurse with
``.``, lists are atomic except ``finalizers`` (a set, ``v:"x"``) and ``ownerReferences``
(keyed by ``uid``); ``LabelSelector`` and ``ObjectReference`` are atomic structs, as the
upstream types are marked. Server-owned metadata and the status of kinds with a status
subresource are never tracked.

Longer than most modules on purpose: the field-set algebra (paths, ownership, conflicts,
removal of what a manager stopped applying) is one algorithm, read top to bottom.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kubesim import errors, schema

JsonObject = dict[str, Any]
Path = tuple[str, ...]
Operation = Literal["Update", "Apply"]

ATOMIC_STRUCTS = frozenset({"LabelSelector", "ObjectReference"})
_UNTRACKED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)
_SELF = "."


@dataclass(frozen=True, slots=True)
class Manager:
    """Who writes, and how: ``fields`` and ``force`` only matter for Apply."""

    name: str
    operation: Operation = "Update"
    applied: frozenset[Path] = frozenset()


@dataclass(slots=True)
class _Entry:
    manager: str
    operation: str
    api_version: str
    time: str
    fields: set[Path] = field(default_factory=set)
    subresource: str = ""

    def encode(self) -> JsonObject:
        out: JsonObject = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            **({"time": self.time} if self.time else {}),
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def manager_from(field_manager: str | None, user_agent: str | None) -> str:
    """The manager name upstream derives: ``fieldManager``, else the User-Agent's first word."""
    if field_manager:
        return field_manager
    return (user_agent or "unknown").split("/", 1)[0][:128] or "unknown"


# --- field sets -------------------------------------------------------------------------------


def field_set(node: schema.Node, obj: Any, *, leaves_only: bool = False) -> dict[Path, Any]:
    """Every tracked path of ``obj`` with the value found there (``.`` maps to ``None``)."""
    out: dict[Path, Any] = {}
    if isinstance(obj, dict):
        _walk_struct(node if isinstance(node, schema.Struct) else None, obj, (), out, leaves_only)
    return out


def _walk_struct(
    node: schema.Struct | None, obj: JsonObject, path: Path, out: dict[Path, Any], leaves: bool
) -> None:
    for key, value in obj.items():
        if not path and key in {"kind", "apiVersion"}:
            continue
        if path == ("f:metadata",) and key in _UNTRACKED_META:
            continue
        if value is None:
            continue
        child = node.lookup(key) if node is not None else None
        child_node = child[0] if child is not None else None
        if node is not None and child is None and not node.preserve:
            continue
        _walk(child_node, value, (*path, f"f:{key}"), out, leaves)


def _walk(
    node: schema.Node | None, value: Any, path: Path, out: dict[Path, Any], leaves: bool
) -> None:
    if path == ("f:metadata", "f:finalizers") and isinstance(value, list):
        if value and not leaves:
            out[(*path, _SELF)] = None
        for item in value:
            out[(*path, f"v:{json.dumps(item)}")] = item
        return
    if path == ("f:metadata", "f:ownerReferences") and isinstance(value, list):
        if value and not leaves:
            out[(*path, _SELF)] = None
        for item in value:
            if isinstance(item, dict) and "uid" in item:
                key = f"k:{json.dumps({'uid': item['uid']}, separators=(',', ':'))}"
                _walk_struct(schema.OWNER_REFERENCE, item, (*path, key), out, leaves)
        return
    if isinstance(node, schema.MapOf) and isinstance(value, dict):
        if value and not leaves:
            out[(*path, _SELF)] = None
        for key, item in value.items():
            _walk(node.value, item, (*path, f"f:{key}"), out, leaves)
        return
    if isinstance(node, schema.Struct) and node.go_type in ATOMIC_STRUCTS:
        if value != {}:
            out[path] = value
        return
    if isinstance(value, dict) and not isinstance(node, schema.Scalar):
        struct = node if isinstance(node, schema.Struct) else None
        _walk_struct(struct, value, path, out, leaves)
        return
    out[path] = value


def to_fields_v1(paths: Iterable[Path]) -> JsonObject:
    """The nested ``fieldsV1`` document of a set of paths, keys sorted as upstream."""
    root: JsonObject = {}
    for path in paths:
        node = root
        for part in path:
            node = node.setdefault(part, {})
    return _sorted(root)


def _sorted(node: JsonObject) -> JsonObject:
    return {key: _sorted(node[key]) for key in sorted(node)}


def from_fields_v1(doc: Any, prefix: Path = ()) -> set[Path]:
    """The paths of a ``fieldsV1`` document (leaves and ``.`` markers)."""
    out: set[Path] = set()
    if not isinstance(doc, dict):
        return out
    for key, child in doc.items():
        path = (*prefix, key)
        if key == _SELF or not child:
            out.add(path)
        else:
            out |= from_fields_v1(child, path)
    return out


def path_text(path: Path) -> str:
    """``.metadata.labels.owner`` / ``.metadata.finalizers[="x"]``, as in conflict messages."""
    out = ""
    for part in path:
        kind, _, rest = part.partition(":")
        if kind == "f":
            out += f".{rest}"
        elif kind == "v":
            out += f"[={rest}]"
        elif kind == "k":
            keys = json.loads(rest)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
    return out


# --- recording writes -------------------------------------------------------------------------


def _entries(obj: JsonObject | None) -> list[_Entry]:
    found = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    out = []
    for item in found:
        if isinstance(item, dict):
            out.append(
                _Entry(
                    item.get("manager", ""),
                    item.get("operation", ""),
                    item.get("apiVersion", ""),
                    item.get("time", ""),
                    from_fields_v1(item.get("fieldsV1")),
                    item.get("subresource", ""),
                )
            )
    return out


def _encode(entries: list[_Entry]) -> list[JsonObject]:
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time, e.manager))
    return [e.encode() for e in kept]


def record(
    body: schema.Struct,
    old: JsonObject | None,
    new: JsonObject,
    manager: Manager,
    api_version: str,
    now: str,
    *,
    drop_status: bool,
) -> list[JsonObject]:
    """The ``managedFields`` of ``new`` after ``manager`` wrote it over ``old``."""
    entries = _entries(old)
    new_fields = _tracked(body, new, drop_status)
    # A create compares with the empty object, whose always-encoded fields ("", {}) nobody
    # owns until someone changes them.
    old_fields = _tracked(body, old, drop_status) if old is not None else _empty_fields(body)
    changed = {
        path
        for path, value in new_fields.items()
        if path not in old_fields or (path[-1] != _SELF and old_fields[path] != value)
    }
    removed = (old_fields.keys() - new_fields.keys()) if old is not None else set()
    mine = next(
        (e for e in entries if e.manager == manager.name and e.operation == manager.operation),
        None,
    )
    taken = changed if manager.operation == "Update" else changed & manager.applied
    stamp = now if changed or removed else ""  # upstream leaves a no-op's new entry untimed
    for entry in entries:
        entry.fields -= removed
        if entry is not mine:
            entry.fields -= taken
    if manager.operation == "Apply":
        wanted = set(manager.applied)
        if mine is None:
            entries.append(_Entry(manager.name, "Apply", api_version, stamp, wanted))
        elif mine.fields != wanted or changed:
            mine.fields, mine.time = wanted, now
    elif changed:
        if mine is None:
            entries.append(_Entry(manager.name, "Update", api_version, now, set(changed)))
        else:
            mine.fields |= changed
            mine.time = now
    return _encode(entries)


_EMPTY_FIELDS: dict[int, tuple[schema.Struct, dict[Path, Any]]] = {}


def _empty_fields(body: schema.Struct) -> dict[Path, Any]:
    """The tracked fields of the kind's empty object (read only: shared between calls).

    Cached by identity: hashing a schema walks its whole tree, which cost more than the rest
    of the bookkeeping; the schema is kept in the entry so its id is never reused."""
    cached = _EMPTY_FIELDS.get(id(body))
    if cached is None:
        empty, _ = schema.decode(body, {"metadata": {}})
        cached = _EMPTY_FIELDS[id(body)] = (body, _tracked(body, empty, drop_status=True))
    return cached[1]


def _tracked(body: schema.Struct, obj: JsonObject | None, drop_status: bool) -> dict[Path, Any]:
    """Fields a write through the main resource owns: ``status`` is reset there (or set by
    the server, as a Namespace's phase), so it is never tracked."""
    del drop_status
    fields = field_set(body, obj)
    return {p: v for p, v in fields.items() if p[0] != "f:status"}


def applied_fields(body: schema.Struct, applied: JsonObject) -> dict[Path, Any]:
    """The leaves an applied configuration sets, with their values."""
    fields = field_set(body, applied, leaves_only=True)
    return {p: v for p, v in fields.items() if p[0] != "f:status"}


def check_apply(
    body: schema.Struct,
    live: JsonObject | None,
    applied: dict[Path, Any],
    manager: str,
    force: bool,
) -> set[Path]:
    """Raise the 409 of a conflicting apply; return the paths to remove from the object."""
    entries = _entries(live)
    live_fields = field_set(body, live) if live is not None else {}
    others = [e for e in entries if not (e.manager == manager and e.operation == "Apply")]
    conflicts = sorted(
        {
            (entry.manager, path)
            for entry in others
            for path, value in applied.items()
            if path in entry.fields and path in live_fields and live_fields[path] != value
        },
        key=lambda c: (c[0], path_text(c[1])),
    )
    if conflicts and not force:
        raise _conflict(conflicts)
    mine = next((e for e in entries if e.manager == manager and e.operation == "Apply"), None)
    if mine is None:
        return set()
    owned_elsewhere = set().union(*(e.fields for e in others)) if others else set()
    return {p for p in mine.fields - applied.keys() if p not in owned_elsewhere}


def _conflict(conflicts: list[tuple[str, Path]]) -> errors.ApiError:
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {json.dumps(name)}",
            "field": path_text(path),
        }
        for name, path in conflicts
    ]
    if len(conflicts) == 1:
        name, path = conflicts[0]
        text = f"conflict with {json.dumps(name)}: {path_text(path)}"
        summary = f"Apply failed with 1 conflict: {text}"
    else:
        by_manager: dict[str, list[str]] = {}
        for name, path in conflicts:
            by_manager.setdefault(name, []).append(path_text(path))
        parts = []
        for name, paths in by_manager.items():
            if len(paths) == 1:
                parts.append(f"conflict with {json.dumps(name)}: {paths[0]}")
            else:
                parts.append(
                    f"conflicts with {json.dumps(name)}:" + "".join(f"\n- {p}" for p in paths)
                )
        summary = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(parts)
    return errors.ApiError(409, "Conflict", summary, {"causes": causes})


def remove_paths(obj: JsonObject, paths: Iterable[Path]) -> None:
    """Delete the fields at ``paths`` (``f:`` steps and set members) from ``obj``."""
    for path in sorted(paths, key=len, reverse=True):
        node: Any = obj
        for part in path[:-1]:
            kind, _, rest = part.partition(":")
            node = node.get(rest) if kind == "f" and isinstance(node, dict) else None
            if node is None:
                break
        if node is None:
            continue
        kind, _, rest = path[-1].partition(":")
        if kind == "f" and isinstance(node, dict):
            node.pop(rest, None)
        elif kind == "v" and isinstance(node, list):
            value = json.loads(rest)
            node[:] = [item for item in node if item != value]
