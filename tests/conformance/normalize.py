"""Answers made comparable: server-chosen values become placeholders, then paths are flattened.

Two servers never agree on uids, timestamps, resourceVersion numbers or continue tokens, but
they must agree on their *pattern*: the same object keeps the same uid, versions increase in
the same order, a list is as new as the last write before it. So uids become ``<uid1>``,
``<uid2>``... in order of first appearance, object versions ``<rv1>``... likewise, and a
list's or bookmark's version (the server's current revision, which a real server also moves
for its own leases) becomes the placeholder of the newest object version not above it.
"""

from __future__ import annotations

import re
from typing import Any

Json = Any

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_RV_IN_TEXT = re.compile(
    r"(?i)((?:resource ?version|resourceversion in (?:precondition|object meta))"
    r"(?::|=)? \"?)(\d+)"
)
_TOO_OLD = re.compile(r"too old resource version: (\d+) \((\d+)\)")
_RV_IN_PARENS = re.compile(r"(ResourceVersion in (?:the precondition|record) \()(\d+)(\))")


class Normalizer:
    """Placeholders shared by every answer of one sequence on one server."""

    def __init__(self) -> None:
        self.uids: dict[str, str] = {}
        self.rvs: dict[int, str] = {}

    def uid(self, value: str) -> str:
        return self.uids.setdefault(value, f"<uid{len(self.uids) + 1}>")

    def object_rv(self, value: str) -> str:
        if not value.isdigit():
            return value
        return self.rvs.setdefault(int(value), f"<rv{len(self.rvs) + 1}>")

    def current_rv(self, value: str) -> str:
        """A revision that need not belong to an object: the newest known version ≤ it."""
        if not value.isdigit():
            return value
        number = int(value)
        below = [rv for rv in self.rvs if rv <= number]
        return self.rvs[max(below)] if below else "<rv0>"

    def text(self, value: str) -> str:
        value = _UUID.sub(lambda m: self.uid(m.group(0)), value)
        value = _TIME.sub("<time>", value)
        value = _TOO_OLD.sub(
            lambda m: (
                "too old resource version: "
                f"{self.current_rv(m.group(1))} ({self.current_rv(m.group(2))})"
            ),
            value,
        )
        value = _RV_IN_PARENS.sub(
            lambda m: m.group(1) + self.current_rv(m.group(2)) + m.group(3), value
        )
        return _RV_IN_TEXT.sub(lambda m: m.group(1) + self.current_rv(m.group(2)), value)

    def value(self, node: Json, path: tuple[str, ...] = ()) -> Json:
        """``node`` with every server-chosen value replaced (objects, lists, Status, events)."""
        if isinstance(node, dict):
            out = {}
            for key, child in node.items():
                out[key] = self._field(key, child, path)
            return out
        if isinstance(node, list):
            return [self.value(child, path) for child in node]
        if isinstance(node, str):
            return self.text(node)
        return node

    def _field(self, key: str, child: Json, path: tuple[str, ...]) -> Json:
        here = (*path, key)
        if key == "resourceVersion" and isinstance(child, str):
            if _is_object_meta(path):
                return self.object_rv(child)
            return self.current_rv(child)
        if key == "continue" and isinstance(child, str) and child:
            return "<continue>"
        if key in {"uid"} and isinstance(child, str):
            return self.uid(child)
        return self.value(child, here)


def _is_object_meta(path: tuple[str, ...]) -> bool:
    """Whether ``path`` leads to an object's metadata (not a list's or a bookmark's)."""
    return bool(path) and path[-1] == "metadata" and "<list>" not in path[-2:-1]


def normalize_answer(normalizer: Normalizer, recorded: Json, *, is_list: bool) -> Json:
    """One recorded answer; a list's own metadata and bookmarks carry current revisions."""
    body = recorded.get("body")
    if isinstance(body, dict) and body.get("kind", "").endswith("List") and "items" in body:
        items = [normalizer.value(item) for item in body.get("items") or []]
        meta = dict(body.get("metadata") or {})
        if "resourceVersion" in meta:
            meta["resourceVersion"] = normalizer.current_rv(meta["resourceVersion"])
        rest = {k: normalizer.value(v) for k, v in body.items() if k not in {"items", "metadata"}}
        body = {**rest, "metadata": normalizer.value(meta), "items": items}
    elif isinstance(body, list):  # watch events
        events = []
        for event in body:
            obj = event.get("object") or {}
            if event.get("type") == "BOOKMARK":
                meta = dict(obj.get("metadata") or {})
                meta["resourceVersion"] = normalizer.current_rv(meta.get("resourceVersion", ""))
                obj = {**normalizer.value(obj), "metadata": normalizer.value(meta)}
                events.append({"type": "BOOKMARK", "object": obj})
            else:
                events.append({"type": event.get("type"), "object": normalizer.value(obj)})
        body = events
    else:
        body = normalizer.value(body)
    return {**recorded, "body": body}


def flatten(node: Json, prefix: str = "") -> dict[str, Json]:
    """``{"a.b[0].c": leaf}``; empty maps and lists are leaves so their presence counts."""
    out: dict[str, Json] = {}
    if isinstance(node, dict) and node:
        for key, child in node.items():
            out.update(flatten(child, f"{prefix}.{key}" if prefix else key))
    elif isinstance(node, list) and node:
        for index, child in enumerate(node):
            out.update(flatten(child, f"{prefix}[{index}]"))
    else:
        out[prefix] = node
    return out
