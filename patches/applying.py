"""Applying the configured patches to a translated host object, then re-checking it.

The controller applies one compiled :class:`PatchList` to every object it syncs, so the
``jsonpatch`` operation objects (and their parsed pointers) are built once, at start, and reused;
only the document is copied per call. The result must keep the scoping invariants
(:func:`translate.violations`) and allow no more than the translation
(:mod:`patches.narrowing`). A failure never escapes as a library exception: it
becomes a :class:`PatchRefused` naming the entry, the object and the reason, which the
controller turns into a Warning event and a metric while keeping the last good host copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, cast

import jsonpatch
import jsonpointer

import translate
from patches import narrowing
from patches.types import Operation
from translate.jsondata import copy_json as _clone
from translate.jsondata import pointer as _pointer

Reason = Literal["patch_failed", "patch_out_of_scope", "patch_widens"]
"""Why an object was refused: an operation failed, the result would select pods outside this
virtual cluster, or it might allow traffic the unpatched translation does not (SPEC §4)."""

_Check = Callable[[object, translate.NetworkPolicy], list[str]]
"""A post-patch check: why the patched document cannot be written, given the translation."""

_VERBS: Final[dict[Reason, str]] = {
    "patch_failed": "failed",
    "patch_out_of_scope": "breaks the scoping invariants",
    "patch_widens": "widens the policy",
}

_FAILURES: Final = (
    jsonpatch.JsonPatchException,
    jsonpointer.JsonPointerException,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
)
"""What an operation may raise on a document it does not fit (a test that fails, a missing
member, an index past the end, a string where an object was expected)."""

_MISSING: Final = object()
_MAX_DETAIL: Final = 300


class PatchRefused(Exception):
    """The patches cannot be used for one object; its host copy must stay as it is.

    Permanent for this version of the virtual object: retrying gives the same answer.
    """

    def __init__(
        self,
        *,
        reason: Reason,
        virtual: translate.ObjectKey,
        host_name: str,
        entry: int | None,
        operation: Operation | None,
        detail: str,
    ) -> None:
        self.reason: Reason = reason
        self.virtual = virtual
        """The virtual object (namespace/name) the host copy was made from."""
        self.host_name = host_name
        self.entry = entry
        """Index in the configured list of the entry to blame, when one can be named."""
        self.operation = operation
        self.detail = detail
        """The reason in words, without the object and entry (those are in ``str(self)``)."""
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"NetworkPolicy {self.virtual} (host {self.host_name})"
        what = "patches" if self.entry is None else f"patch entry {self.entry}"
        if self.operation is not None:
            what += f" ({describe(self.operation)})"
        return f"{where}: {what} {_VERBS[self.reason]}: {self.detail}"


class PatchList:
    """The validated, compiled ``patches`` list; build it with :func:`patches.parse`.

    Immutable and safe to share: :meth:`apply` never changes the list or its input.
    """

    __slots__ = ("_steps", "operations")

    def __init__(self, operations: Sequence[Operation] = ()) -> None:
        """Compile already validated ``operations`` (see :func:`patches.parse`)."""
        self.operations: tuple[Operation, ...] = tuple(operations)
        self._steps: tuple[jsonpatch.PatchOperation, ...] = tuple(
            _compile(op) for op in self.operations
        )

    def __len__(self) -> int:
        return len(self.operations)

    def __bool__(self) -> bool:
        return bool(self.operations)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PatchList) and self.operations == other.operations

    def __hash__(self) -> int:
        return hash(tuple(describe(op) for op in self.operations))

    def __repr__(self) -> str:
        return f"PatchList({list(self.operations)!r})"

    def apply(
        self,
        translated: translate.NetworkPolicy,
        *,
        vcluster: str,
        sanctioned_peers: Sequence[Mapping[str, Any]] = (),
    ) -> translate.NetworkPolicy:
        """``translated`` (the output of :func:`translate.to_host`) with every patch applied.

        Runs the whole list in order on a copy, then checks the result against ``translated``:
        first the scoping invariants, then that it allows nothing more
        (:func:`patches.narrowing.widenings`). Raises :class:`PatchRefused` when an operation
        fails or a check does. ``sanctioned_peers`` (SPEC §9 guardrails) are host peers the
        scoping check accepts verbatim; ``translated`` then already carries the guardrails that
        run before patches. ``translated`` is never modified; with an empty list it is
        returned itself, since an unpatched translation passes both checks by construction.
        """
        if not self._steps:
            return translated
        doc: Any = _clone(translated)
        for index, step in enumerate(self._steps):
            try:
                doc = step.apply(doc)
            except _FAILURES as exc:
                raise self._refused(
                    translated, "patch_failed", index, _explain(exc, self.operations[index], doc)
                ) from exc
        checks: tuple[tuple[Reason, _Check], ...] = (
            ("patch_out_of_scope", lambda d, t: _violations(d, t, vcluster, sanctioned_peers)),
            ("patch_widens", narrowing.widenings),
        )
        for reason, check in checks:
            found = check(doc, translated)
            if found:
                detail = "; ".join(found[:5]) + (
                    f" (and {len(found) - 5} more)" if found[5:] else ""
                )
                blame = self._blame(translated, check)
                raise self._refused(translated, reason, blame, detail)
        return cast(translate.NetworkPolicy, doc)

    def _blame(self, translated: translate.NetworkPolicy, check: _Check) -> int | None:
        """The entry from which the result failed ``check`` until the end (the first entry
        after which it stayed out of scope, or stayed wider, with no later entry repairing it).

        Only runs on the refusal path: the list is replayed with a check after every step.
        """
        doc: Any = _clone(translated)
        blame: int | None = None
        for index, step in enumerate(self._steps):
            doc = step.apply(doc)
            if not check(doc, translated):
                blame = None
            elif blame is None:
                blame = index
        return blame

    def _refused(
        self, translated: translate.NetworkPolicy, reason: Reason, entry: int | None, detail: str
    ) -> PatchRefused:
        meta = translated.get("metadata", {})
        annotations = meta.get("annotations", {})
        return PatchRefused(
            reason=reason,
            virtual=translate.ObjectKey(
                namespace=annotations.get(translate.markers.OBJECT_NAMESPACE, ""),
                name=annotations.get(translate.markers.OBJECT_NAME, ""),
            ),
            host_name=meta.get("name", ""),
            entry=entry,
            operation=None if entry is None else self.operations[entry],
            detail=detail,
        )


def describe(operation: Operation) -> str:
    """Short human form of one operation, e.g. ``add /metadata/labels/team``."""
    if operation["op"] == "move" or operation["op"] == "copy":
        return f"{operation['op']} {operation['from']} -> {operation['path']}"
    return f"{operation['op']} {operation['path']}"


def _compile(operation: Operation) -> jsonpatch.PatchOperation:
    """The library's operation object with its pointers parsed once, for reuse on every apply."""
    raw: dict[str, Any] = dict(operation)
    if "from" in raw:
        raw["from"] = jsonpointer.JsonPointer(raw["from"])
    return jsonpatch.JsonPatch.operations[operation["op"]](raw)


def _violations(
    doc: object,
    reference: translate.NetworkPolicy,
    vcluster: str,
    sanctioned_peers: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """:func:`translate.violations`, refusing (rather than raising on) shapes it cannot read."""
    if not isinstance(doc, Mapping):
        return [f"the patched object is {type(doc).__name__}, not a JSON object"]
    try:
        found = translate.violations(
            doc, cast(Mapping[str, Any], reference), vcluster, sanctioned_peers=sanctioned_peers
        )
    except (TypeError, AttributeError, KeyError) as exc:
        return [f"the patched object cannot be checked ({type(exc).__name__}: {exc})"]
    return found


def _explain(exc: Exception, operation: Operation, doc: object) -> str:
    """Why ``operation`` failed on ``doc``, in terms of the object (never dumping it whole)."""
    path = jsonpointer.JsonPointer(operation["path"])
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        actual = path.resolve(doc, _MISSING)
        if actual is _MISSING:
            return f"test failed: {operation['path']} does not exist"
        expected = cast(Mapping[str, Any], operation)["value"]
        return f"test failed: {operation['path']} is {_short(actual)}, not {_short(expected)}"
    if operation["op"] == "move" or operation["op"] == "copy":
        missing, _ = _resolve(doc, jsonpointer.JsonPointer(operation["from"]).parts)
        if missing is not None:
            return f"from {missing}"
    if operation["op"] in ("remove", "replace"):
        missing, _ = _resolve(doc, path.parts)
        if missing is not None:
            return missing
    elif path.parts:
        missing, parent = _resolve(doc, path.parts[:-1])
        if missing is not None:
            return missing
        where = _pointer(path.parts[:-1]) or "the root"
        if isinstance(parent, list):
            return f"{operation['path']} is not an index within {where} ({len(parent)} items)"
        if not isinstance(parent, Mapping):
            return f"{where} is {_short(parent)}, not an object or list"
    return _clean(str(exc)) or type(exc).__name__


def _resolve(doc: object, parts: list[str]) -> tuple[str | None, object]:
    """The node at ``parts`` in ``doc``, or a description of where resolving stops."""
    node = doc
    for depth, part in enumerate(parts):
        here = _pointer(parts[: depth + 1])
        if isinstance(node, Mapping):
            if part not in node:
                return f"{here} does not exist", None
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"{here} does not exist (the list has {len(node)} items)", None
            node = node[int(part)]
        else:
            where = _pointer(parts[:depth]) or "the root"
            return f"{where} is {_short(node)}, not an object or list", None
    return None, node


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clean(message: str) -> str:
    """A library message without the document dump some of them append."""
    message = message.split(" not found in ", 1)[0] + (
        " not found" if " not found in " in message else ""
    )
    return message if len(message) <= _MAX_DETAIL else message[: _MAX_DETAIL - 3] + "..."
