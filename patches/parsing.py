"""Validation of the configured patch list, done once at start (and by ``check-config``).

Every entry is checked before anything is synced, so a typo stops the process with exit code 2
instead of failing each object at runtime. Problems name the entry index and field the way the
YAML spells them (``patches[3].op``), and all of them are reported at once.

Pointers are checked with the ``jsonpointer`` library and operations are built by ``jsonpatch``;
this module only adds what those libraries check late or never: missing ``value``/``from``,
unknown fields, non-JSON values (an unquoted YAML date), label syntax, and vCluster's own
entries (``path`` + ``expression``/``reference``/``labels``), which are refused with the
RFC 6902 operation to write instead where one exists (:mod:`patches.vcluster`).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final, cast

import jsonpointer

from patches import vcluster
from patches.applying import PatchList
from patches.types import OPS, JSONValue, Operation
from translate import naming

_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "add": frozenset({"op", "path", "value"}),
    "remove": frozenset({"op", "path"}),
    "replace": frozenset({"op", "path", "value"}),
    "move": frozenset({"op", "from", "path"}),
    "copy": frozenset({"op", "from", "path"}),
    "test": frozenset({"op", "path", "value"}),
}

_VCLUSTER_PATCH_FIELDS: Final = vcluster.FIELDS
"""Fields of vCluster's own ``patches`` entries, which this syncer does not implement."""

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_QUALIFIED_NAME: Final = re.compile(
    rf"^((?P<prefix>{naming.DNS_SUBDOMAIN_PATTERN})/)?(?P<name>{_NAME})$"
)
_LABEL_VALUE: Final = re.compile(rf"^({_NAME})?$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configured list, located the way the YAML spells it."""

    message: str
    index: int | None = None
    """Entry index in the list, or None when the list itself is wrong."""
    field: str | None = None
    """Field of the entry (``op``, ``path``, ``value``, ``from``, or an unknown one)."""

    def location(self, base: str = "patches") -> str:
        """``base[3].op``-style path; callers pass the full YAML path of the list as ``base``."""
        out = base
        if self.index is not None:
            out += f"[{self.index}]"
        if self.field is not None:
            out += f".{self.field}"
        return out

    def describe(self, base: str = "patches") -> str:
        return f"{self.location(base)}: {self.message}"

    def __str__(self) -> str:
        return self.describe()


class InvalidPatches(ValueError):
    """The configured list cannot be used; ``problems`` lists every reason, in entry order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


def problems(entries: object) -> list[Problem]:
    """Everything wrong with ``entries``; empty when :func:`parse` would succeed."""
    return _validate(entries)[1]


def parse(entries: object) -> PatchList:
    """Validate ``entries`` (the YAML list) and compile it, ready to apply to many objects.

    Raises :class:`InvalidPatches` listing every problem. ``None`` is not accepted here: the
    config layer decides that an absent ``patches`` key means "no patches".
    """
    operations, found = _validate(entries)
    if found:
        raise InvalidPatches(found)
    return PatchList(operations)


def _validate(entries: object) -> tuple[list[Operation], list[Problem]]:
    if not isinstance(entries, list | tuple):
        return [], [Problem(f"must be a list of RFC 6902 operations, got {_kind(entries)}")]
    operations: list[Operation] = []
    found: list[Problem] = []
    for index, entry in enumerate(entries):
        entry_problems = list(_entry_problems(entry, index))
        if entry_problems:
            found.extend(entry_problems)
        else:
            operations.append(_typed(cast(Mapping[str, object], entry)))
    return operations, found


def _entry_problems(entry: object, index: int) -> Iterator[Problem]:
    if not isinstance(entry, Mapping):
        yield Problem(f"must be a mapping with op and path, got {_kind(entry)}", index)
        return
    if "op" not in entry:
        if vcluster.is_vcluster_entry(entry):
            yield Problem(_vcluster_style(entry), index)
        else:
            yield Problem(f"missing; expected one of {', '.join(OPS)}", index, "op")
        return
    op = entry["op"]
    if not isinstance(op, str) or op not in _FIELDS:
        yield Problem(f"unknown op {op!r}; expected one of {', '.join(OPS)}", index, "op")
        return
    allowed = _FIELDS[op]
    for key in entry:
        if key not in allowed:
            yield _unknown_field(key, op, allowed, index)
    path, problem = _pointer_problems(entry, "path", index)
    if problem:
        yield problem
    if op in ("add", "replace", "test"):
        if "value" not in entry:
            yield Problem(f"missing; {op!r} needs a value", index, "value")
        else:
            bad = _not_json(entry["value"])
            if bad:
                yield Problem(bad, index, "value")
            elif path is not None and op != "test":
                for field, message in _metadata_value_problems(path.parts, entry["value"]):
                    yield Problem(message, index, field)
    if path is not None and op != "test" and not path.parts:
        yield Problem(
            f"{op!r} at the root would replace the whole object, including its per-object name "
            "and ownership annotations; point at a field instead",
            index,
            "path",
        )
    if op in ("move", "copy"):
        source, problem = _pointer_problems(entry, "from", index)
        if problem:
            yield problem
        elif (
            op == "move"
            and source is not None
            and path is not None
            and path != source
            and path.contains(source)
        ):
            where = source.path or "the root"
            yield Problem(f"cannot move {where} into its own child {path.path}", index, "from")


def _vcluster_style(entry: Mapping[str, object]) -> str:
    """Why a vCluster-syntax entry is refused, with the operation to write instead if any."""
    field = next(
        f
        for f in ("expression", "javascript", "reverseExpression", "reference", "labels")
        if f in entry
    )
    return (
        f"vCluster's own patch syntax (path + {field}) is not supported, only RFC 6902"
        f" operations are; {vcluster.equivalent(entry).describe()}"
    )


def _pointer_problems(
    entry: Mapping[str, object], field: str, index: int
) -> tuple[jsonpointer.JsonPointer | None, Problem | None]:
    if field not in entry:
        return None, Problem(f"missing; {entry['op']!r} needs {field!r}", index, field)
    raw = entry[field]
    if not isinstance(raw, str):
        return None, Problem(f"must be a JSON pointer string, got {_kind(raw)}", index, field)
    try:
        return jsonpointer.JsonPointer(raw), None
    except jsonpointer.JsonPointerException as exc:
        hint = ""
        if raw and not raw.startswith("/"):
            hint = f" (a JSON pointer looks like /{raw.replace('.', '/')}, not a dotted path)"
        return None, Problem(f"{raw!r} is not a JSON pointer: {exc}{hint}", index, field)


def _unknown_field(key: str, op: str, allowed: frozenset[str], index: int) -> Problem:
    ordered = [f for f in ("op", "from", "path", "value") if f in allowed]
    if key in _VCLUSTER_PATCH_FIELDS:
        return Problem(
            f"unknown field: {key!r} belongs to vCluster's expression-style patches; "
            "only RFC 6902 operations are supported",
            index,
            str(key),
        )
    return Problem(f"unknown field; an {op!r} entry has only {', '.join(ordered)}", index, str(key))


def _not_json(value: object, where: str = "") -> str | None:
    """Why ``value`` is not plain JSON (YAML can produce dates, binary, NaN), or None."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where or 'value'} {value} is not a JSON number"
    if isinstance(value, list):
        for i, item in enumerate(value):
            bad = _not_json(item, f"{where}[{i}]")
            if bad:
                return bad
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"key {key!r} at {where or 'value'} must be a string (quote it in YAML)"
            bad = _not_json(item, f"{where}.{key}")
            if bad:
                return bad
        return None
    return (
        f"{where or 'value'} {value} is a {type(value).__name__}, not JSON "
        "(quote it in YAML to make it a string)"
    )


def _metadata_value_problems(parts: list[str], value: object) -> Iterator[tuple[str, str]]:
    """Labels and annotations the API server would reject for every object, caught early."""
    if len(parts) < 2 or parts[0] != "metadata" or parts[1] not in ("labels", "annotations"):
        return
    kind = parts[1][:-1]
    if len(parts) == 2:
        if not isinstance(value, dict):
            yield "value", f"metadata.{parts[1]} must be a mapping, got {_kind(value)}"
            return
        key_field = "value"
        items = list(value.items())
    elif len(parts) == 3:
        key_field = "path"
        items = [(parts[2], value)]
    else:
        yield "path", f"a {kind} value is a string; the path has {len(parts) - 3} part(s) too many"
        return
    for key, item in items:
        if not _valid_key(key):
            yield (
                key_field,
                f"{key!r} is not a valid {kind} key (an optional DNS prefix/ plus a name)",
            )
        if not isinstance(item, str):
            yield (
                "value",
                f"{kind} {key!r} must have a string value, got {_kind(item)} (quote it in YAML)",
            )
        elif kind == "label" and (len(item) > 63 or not _LABEL_VALUE.match(item)):
            yield (
                "value",
                (f"{item!r} is not a valid label value (at most 63 characters: A-Z a-z 0-9 - _ .)"),
            )


def _valid_key(key: str) -> bool:
    match = _QUALIFIED_NAME.match(key)
    if match is None:
        return False
    prefix, name = match.group("prefix"), match.group("name")
    return len(name) <= 63 and (prefix is None or len(prefix) <= 253)


def _typed(entry: Mapping[str, object]) -> Operation:
    """The entry as a fresh typed operation (after validation, so the casts hold)."""
    op = entry["op"]
    path = cast(str, entry["path"])
    if op in ("move", "copy"):
        return cast(Operation, {"op": op, "from": cast(str, entry["from"]), "path": path})
    if op == "remove":
        return {"op": "remove", "path": path}
    # Copied so that later changes to the caller's data cannot change the compiled list.
    value = cast(JSONValue, copy.deepcopy(entry["value"]))
    return cast(Operation, {"op": op, "path": path, "value": value})


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{type(value).__name__} {value!r}"
