"""vCluster's own patch entries, explained in terms of the RFC 6902 operations this syncer runs.

vCluster's ``sync.toHost.*.patches`` entries (``config.TranslatePatch`` in vCluster's
``config/config.go``) name a field with a dotted ``path`` and say what to do with its value:
``expression`` (JavaScript computing the new value from ``value``), ``reverseExpression`` (the
same for changes copied back from the host), ``reference`` (rewrite a name to the host name of
the object it refers to) or ``labels`` (translate a label selector). Users moving from
vCluster's built-in syncer have such lists; :func:`equivalent` says, per entry, which RFC 6902
operation does the same, or why none can. Pure: nothing runs JavaScript here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, cast

from patches.types import AddOperation, JSONValue, Operation, RemoveOperation
from translate import jsondata

FIELDS: Final = frozenset({"expression", "reverseExpression", "reference", "labels", "javascript"})
"""Fields that mark an entry as vCluster's own syntax (``javascript`` is an older spelling)."""

_NUMBER: Final = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_SEGMENT: Final = re.compile(r"""\[(?:(\d+)|\*|"((?:[^"\\]|\\.)*)"|'([^'\\]*)')\]|([^.\[\]]+)""")
_WILDCARD: Final = object()


@dataclass(frozen=True, slots=True)
class Equivalent:
    """What replaces one vCluster entry: an RFC 6902 operation, or None and why not."""

    operation: Operation | None
    note: str
    """A caveat of the equivalent (empty when there is none), or why there is none."""

    def describe(self) -> str:
        """``RFC 6902 equivalent: {op: add, ...}`` or ``no RFC 6902 equivalent: ...``."""
        if self.operation is None:
            return f"no RFC 6902 equivalent: {self.note}"
        text = f"RFC 6902 equivalent: {flow(self.operation)}"
        return f"{text} ({self.note})" if self.note else text


def is_vcluster_entry(entry: object) -> bool:
    """An entry in vCluster's syntax: a ``path`` and one of its fields, and no ``op``."""
    return isinstance(entry, Mapping) and "op" not in entry and bool(FIELDS & entry.keys())


def equivalent(entry: Mapping[str, object]) -> Equivalent:
    """The RFC 6902 operation doing what vCluster's ``entry`` does to a host NetworkPolicy."""
    if "reference" in entry:
        return Equivalent(
            None,
            "a reference patch renames a field to the host name of the object it refers to; a"
            " NetworkPolicy refers to no object by name, and RFC 6902 cannot compute names",
        )
    if "labels" in entry:
        return Equivalent(
            None,
            "a labels patch translates a label selector; this syncer already translates every"
            " selector of a NetworkPolicy, so the entry can be dropped",
        )
    expression = entry.get("expression", entry.get("javascript"))
    if expression is None or expression == "":
        return Equivalent(
            None,
            "reverseExpression rewrites host changes copied back into the virtual cluster; this"
            " syncer never copies back, so the entry can be dropped",
        )
    path = entry.get("path")
    pointer = to_pointer(path) if isinstance(path, str) else None
    if pointer is None:
        return Equivalent(
            None,
            f"the path {path!r} is not one field (a [*] wildcard or an unreadable path);"
            " an RFC 6902 pointer names exactly one location",
        )
    constant = _constant(expression) if isinstance(expression, str) else _WILDCARD
    if constant is _WILDCARD:
        return Equivalent(
            None,
            "the expression computes the value with JavaScript; RFC 6902 sets constants only",
        )
    caveats = []
    if entry.get("reverseExpression"):
        caveats.append("reverseExpression has no effect here: nothing is copied back")
    operation: Operation
    if constant is None:
        operation = RemoveOperation(op="remove", path=pointer)
        caveats.insert(0, "vCluster skips objects without the field; remove fails on them")
    else:
        operation = AddOperation(op="add", path=pointer, value=cast(JSONValue, constant))
        caveats.insert(0, "vCluster changes the field only where it exists; add also creates it")
    return Equivalent(operation, "; ".join(caveats))


def to_pointer(path: str) -> str | None:
    """vCluster's dotted path as a JSON pointer, or None when it is not one location.

    ``metadata.labels.team`` -> ``/metadata/labels/team``; ``spec.ingress[0].ports`` ->
    ``/spec/ingress/0/ports``; bracketed keys (``metadata.annotations["example.com/owner"]``)
    keep their dots and slashes. Under ``metadata.labels`` and ``metadata.annotations`` the rest
    of an unbracketed path is one key, since label keys (``example.com/team``) contain dots.
    """
    text = path.strip()
    text = text[2:] if text.startswith("$.") else text.lstrip(".")
    for prefix in ("metadata.labels.", "metadata.annotations."):
        rest = text[len(prefix) :]
        if text.startswith(prefix) and rest and not rest.startswith("[") and "[" not in rest:
            return jsondata.pointer([*prefix.rstrip(".").split("."), rest])
    parts: list[str] = []
    position = 0
    while position < len(text):
        if text[position] == "." and parts:
            position += 1
        match = _SEGMENT.match(text, position)
        if match is None or match.end() == position:
            return None
        index, double, single, plain = match.groups()
        if match.group(0) == "[*]":
            return None
        if index is not None:
            parts.append(index)
        elif double is not None:
            parts.append(json.loads(f'"{double}"'))
        else:
            parts.append(single if single is not None else plain)
        position = match.end()
    return jsondata.pointer(parts) if parts else None


def flow(operation: Operation) -> str:
    """One operation as a YAML flow mapping that can be pasted into the ``patches`` list."""
    fields = [f"op: {operation['op']}"]
    if "from" in operation:
        fields.append(f"from: {operation['from']}")  # type: ignore[typeddict-item]
    fields.append(f"path: {operation['path']}")
    if "value" in operation:
        fields.append(f"value: {json.dumps(operation['value'])}")  # type: ignore[typeddict-item]
    return "{" + ", ".join(fields) + "}"


def _constant(expression: str) -> JSONValue | object:
    """The value a JavaScript expression always yields, or ``_WILDCARD`` when it may vary.

    Recognised: string literals in double, single or back quotes (no escapes or ``${}``),
    numbers, ``true``, ``false``, ``null`` and ``undefined``.
    """
    text = expression.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'`\"":
        inner = text[1:-1]
        if "\\" in inner or text[0] in inner or (text[0] == "`" and "${" in inner):
            return _WILDCARD
        return inner
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "undefined"):
        return None
    if _NUMBER.fullmatch(text):
        number: JSONValue = json.loads(text)
        return number
    return _WILDCARD
