"""Typed shapes of the configured patch entries (RFC 6902 operations).

The configured list arrives as untyped YAML; :mod:`patches.parsing` checks it and returns these
shapes, so code downstream of validation can rely on ``value`` existing for ``add`` and ``from``
for ``move``. ``from`` is a Python keyword, hence the functional ``TypedDict`` syntax.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, TypedDict

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
"""What a patch may carry in ``value``: exactly what JSON can express."""

Op = Literal["add", "remove", "replace", "move", "copy", "test"]

OPS: Final[tuple[Op, ...]] = ("add", "remove", "replace", "move", "copy", "test")
"""The six RFC 6902 operations, in the RFC's order (used in error messages)."""


class AddOperation(TypedDict):
    op: Literal["add"]
    path: str
    value: JSONValue


class RemoveOperation(TypedDict):
    op: Literal["remove"]
    path: str


class ReplaceOperation(TypedDict):
    op: Literal["replace"]
    path: str
    value: JSONValue


MoveOperation = TypedDict("MoveOperation", {"op": Literal["move"], "from": str, "path": str})

CopyOperation = TypedDict("CopyOperation", {"op": Literal["copy"], "from": str, "path": str})


class TestOperation(TypedDict):
    op: Literal["test"]
    path: str
    value: JSONValue


Operation: TypeAlias = (
    AddOperation
    | RemoveOperation
    | ReplaceOperation
    | MoveOperation
    | CopyOperation
    | TestOperation
)
"""One validated entry of ``sync.toHost.networkPolicies.patches``."""
