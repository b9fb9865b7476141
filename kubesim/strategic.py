"""Strategic merge patch (``application/strategic-merge-patch+json``) for built-in kinds.

Upstream computes the merge behaviour of every list from Go struct tags
(``patchStrategy:"merge" patchMergeKey:"name"``); kubesim carries the same information as a
small :class:`PatchMeta` tree per kind. Lists without metadata are replaced wholesale, which is
the NetworkPolicy case (its rule, peer and port lists are atomic), while ``metadata.finalizers``
merges as a set and ``metadata.ownerReferences`` by ``uid``.

Supported directives, as ``kubectl apply`` and Helm send them: ``$patch`` (``replace``,
``delete``, ``merge``) in maps and list items, ``$retainKeys``, ``$setElementOrder/<list>`` and
``$deleteFromPrimitiveList/<list>``. Custom kinds have no struct tags, so upstream rejects this
patch type for them with 415; kubesim does the same (``ResourceType.patch_meta is None``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesim import errors

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PatchMeta:
    """How one field merges; for lists of objects, ``fields`` describes the items."""

    fields: Mapping[str, PatchMeta] = field(default_factory=dict)
    merge_key: str | None = None
    merge_primitives: bool = False
    retain_keys: bool = False

    def child(self, name: str) -> PatchMeta:
        """The metadata of a sub-field (atomic lists and plain maps when not declared)."""
        return self.fields.get(name, EMPTY)


EMPTY = PatchMeta()

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _bad(message: str) -> errors.ApiError:
    return errors.bad_request(f"unable to apply strategic merge patch: {message}")


def apply(original: JsonObject, patch: JsonObject, meta: PatchMeta) -> JsonObject:
    """Return ``original`` with ``patch`` applied; neither argument is modified."""
    if not isinstance(patch, dict):
        raise _bad("the patch must be a JSON object")
    result = _merge_map(copy.deepcopy(original), patch, meta)
    return result if result is not None else {}


def _strip(value: Any) -> Any:
    """Remove directives from a value being added where nothing existed before."""
    if isinstance(value, dict):
        if value.get(_DIRECTIVE) == "delete":
            return None
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [
            _strip(v)
            for v in value
            if not (isinstance(v, dict) and _DIRECTIVE in v and len(v) == 1)
        ]
    return value


def _merge_map(original: JsonObject, patch: JsonObject, meta: PatchMeta) -> JsonObject | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: _strip(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise _bad(f"unknown patch type: {directive}")

    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise _bad("$retainKeys must be a list")
        keep = set(retain)
        for key in list(original):
            if key not in keep:
                del original[key]

    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(original.get(name), list) and isinstance(value, list):
                original[name] = [v for v in original[name] if v not in value]
        elif key.startswith(_SET_ORDER) and isinstance(value, list):
            orders[key[len(_SET_ORDER) :]] = value

    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            original.pop(key, None)
            continue
        child = meta.child(key)
        current = original.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged = _merge_map(current, value, child)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list) and isinstance(current, list):
            original[key] = _merge_list(current, value, child)
        else:
            stripped = _strip(value)
            if stripped is None:
                original.pop(key, None)
            else:
                original[key] = stripped

    for name, order in orders.items():
        if isinstance(original.get(name), list):
            original[name] = _reorder(original[name], order, meta.child(name))
    return original


def _merge_list(current: list[Any], patch: list[Any], meta: PatchMeta) -> list[Any]:
    if meta.merge_primitives:
        # Upstream's order: the patch's items first, then the original ones it did not name.
        merged: list[Any] = []
        for item in [*patch, *current]:
            if item not in merged:
                merged.append(item)
        return merged
    key = meta.merge_key
    if key is None:
        return [_strip(v) for v in patch if not _is_directive_only(v)]
    if any(isinstance(v, dict) and v.get(_DIRECTIVE) == "replace" for v in patch):
        return [_strip(v) for v in patch if not _is_directive_only(v)]
    merged = list(current)
    for item in patch:
        if not isinstance(item, dict):
            raise _bad(f"list items must be objects with the merge key {key!r}")
        if key not in item:
            raise _bad(f"map: {item} does not contain declared merge key: {key}")
        index = next(
            (
                i
                for i, have in enumerate(merged)
                if isinstance(have, dict) and have.get(key) == item[key]
            ),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if index is not None:
                del merged[index]
            continue
        if index is None:
            merged.append(_strip(item))
        else:
            result = _merge_map(merged[index], item, meta)
            if result is None:
                del merged[index]
            else:
                merged[index] = result
    return merged


def _is_directive_only(value: Any) -> bool:
    return isinstance(value, dict) and _DIRECTIVE in value and len(value) == 1


def _reorder(items: list[Any], order: list[Any], meta: PatchMeta) -> list[Any]:
    """Apply ``$setElementOrder``: listed elements in that order, the rest after them."""

    def ident(item: Any) -> Any:
        if meta.merge_key and isinstance(item, dict):
            return item.get(meta.merge_key)
        return item

    wanted = [ident(o) for o in order]
    rank = {w: i for i, w in enumerate(wanted) if isinstance(w, str | int | float | bool)}
    listed = [it for it in items if ident(it) in rank]
    listed.sort(key=lambda it: rank[ident(it)])
    rest = [it for it in items if ident(it) not in rank]
    return listed + rest


# --- patch metadata of the built-in kinds -----------------------------------------------------

OBJECT_META = PatchMeta(
    fields={
        "finalizers": PatchMeta(merge_primitives=True),
        "ownerReferences": PatchMeta(merge_key="uid"),
    }
)

OBJECT = PatchMeta(fields={"metadata": OBJECT_META})
"""Kinds whose body has no mergeable lists (NetworkPolicy, ConfigMap, Secret, RBAC, ...)."""

CONTAINER = PatchMeta(
    merge_key="name",
    fields={
        "ports": PatchMeta(merge_key="containerPort"),
        "env": PatchMeta(merge_key="name"),
        "volumeMounts": PatchMeta(merge_key="mountPath"),
        "volumeDevices": PatchMeta(merge_key="devicePath"),
        "resizePolicy": PatchMeta(),
    },
)

POD_SPEC = PatchMeta(
    fields={
        "containers": CONTAINER,
        "initContainers": CONTAINER,
        "ephemeralContainers": CONTAINER,
        "volumes": PatchMeta(merge_key="name", retain_keys=True),
        "imagePullSecrets": PatchMeta(merge_key="name"),
        "hostAliases": PatchMeta(merge_key="ip"),
        "topologySpreadConstraints": PatchMeta(merge_key="topologyKey"),
        "resourceClaims": PatchMeta(merge_key="name", retain_keys=True),
        "schedulingGates": PatchMeta(merge_key="name"),
    }
)

POD_TEMPLATE = PatchMeta(fields={"metadata": OBJECT_META, "spec": POD_SPEC})

POD = PatchMeta(fields={"metadata": OBJECT_META, "spec": POD_SPEC})

WORKLOAD = PatchMeta(
    fields={
        "metadata": OBJECT_META,
        "spec": PatchMeta(
            fields={
                "template": POD_TEMPLATE,
                "strategy": PatchMeta(retain_keys=True),
                "volumeClaimTemplates": PatchMeta(),
            }
        ),
    }
)
"""Deployments and StatefulSets: the pod template merges like a pod."""

SERVICE = PatchMeta(
    fields={
        "metadata": OBJECT_META,
        "spec": PatchMeta(fields={"ports": PatchMeta(merge_key="port")}),
    }
)
