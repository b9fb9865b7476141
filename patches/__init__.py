"""The configured RFC 6902 patches (``sync.toHost.networkPolicies.patches``, SPEC §4).

Pure: no I/O, no asyncio, nothing from ``syncer``. :func:`parse` validates the whole list once
at start and compiles it; :meth:`PatchList.apply` runs it on each translated host object and
re-checks the scoping invariants of :func:`translate.violations` and, with
:func:`patches.narrowing.widenings`, that the patched spec allows nothing the translation does
not: patches may add labels, annotations or narrowing, but can never make a host copy select
another tenant's pods or let more traffic through.
Failures are :class:`PatchRefused` exceptions that name the entry, the object and the reason.
"""

from patches import narrowing
from patches.applying import PatchList, PatchRefused, Reason, describe
from patches.parsing import InvalidPatches, Problem, parse, problems
from patches.types import (
    OPS,
    AddOperation,
    CopyOperation,
    JSONValue,
    MoveOperation,
    Op,
    Operation,
    RemoveOperation,
    ReplaceOperation,
    TestOperation,
)

__all__ = [
    "OPS",
    "AddOperation",
    "CopyOperation",
    "InvalidPatches",
    "JSONValue",
    "MoveOperation",
    "Op",
    "Operation",
    "PatchList",
    "PatchRefused",
    "Problem",
    "Reason",
    "RemoveOperation",
    "ReplaceOperation",
    "TestOperation",
    "describe",
    "narrowing",
    "parse",
    "problems",
]
