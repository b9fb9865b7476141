"""Helpers for plain JSON data (dicts, lists, scalars) that the whole pure core shares.

Here, in the innermost package, so that ``translate``, ``patches`` and ``guardrails`` copy
trees and spell JSON pointers (RFC 6901) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, cast

_T = TypeVar("_T")


def copy_json(value: _T) -> _T:
    """Deep copy of JSON data; several times faster than :func:`copy.deepcopy` on it, because
    only exact dicts and lists are walked (everything else in JSON is immutable)."""
    data: Any = value
    kind = type(data)
    if kind is dict:
        return cast(_T, {k: copy_json(v) for k, v in data.items()})
    if kind is list:
        return cast(_T, [copy_json(v) for v in data])
    return value


def escape(token: str) -> str:
    """One reference token of a JSON pointer: ``~`` as ``~0``, ``/`` as ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(tokens: Iterable[str]) -> str:
    """The JSON pointer to ``tokens`` (``""`` for the root), so messages name fields the way
    patches do."""
    return "".join("/" + escape(t) for t in tokens)
