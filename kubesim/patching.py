"""PATCH bodies: JSON merge patch, JSON patch, strategic merge patch and apply patch.

The HTTP layer picks the function by ``Content-Type`` and hands it to
:meth:`kubesim.storage.Storage.patch`, which supplies a private copy of the current object and
runs the result through the normal update path (decoding, defaulting, validation,
concurrency). So every patch type gets the same guarantees as a PUT.

Server-side apply (``application/apply-patch+yaml``) merges the applied configuration like a
strategic merge patch after removing the fields its manager gave up; ownership and conflicts
are :mod:`kubesim.managed`'s job.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonpatch
import yaml

from kubesim import errors, managed, strategic

JsonObject = dict[str, Any]
Mutation = Callable[[JsonObject], JsonObject]

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"


_REJECTED = "the server rejected our request due to an error in our request"
"""Upstream's whole message for a JSON patch that cannot be applied (no detail given)."""


def accepted_types(strategic_supported: bool) -> list[str]:
    """The patch media types a resource accepts, in upstream's order for the 415 message."""
    types = [JSON, MERGE, APPLY]
    if strategic_supported:
        types.append(STRATEGIC)
    return types


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_json(body: bytes) -> Any:
    """Decode a JSON request body, 400 on garbage (upstream wording)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from exc


def mutation(
    content_type: str,
    body: bytes,
    patch_meta: strategic.PatchMeta | None,
) -> Mutation:
    """The function that applies this patch body to an object, or 415 if the type is unknown."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == MERGE:
        try:
            patch = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise errors.bad_request("invalid JSON patch") from None
        if not isinstance(patch, dict):
            raise errors.bad_request("error decoding patch: a merge patch must be a JSON object")
        return lambda obj: merge_patch(obj, patch)
    if media == JSON:
        ops = parse_json(body)
        if not isinstance(ops, list):
            raise errors.bad_request(
                "error decoding patch: json: cannot unmarshal "
                f"{'object' if isinstance(ops, dict) else 'value'} into Go value of type "
                "[]handlers.jsonPatchOp"
            )
        return _json_patch(ops)
    if media == STRATEGIC and patch_meta is not None:
        patch = parse_json(body)
        meta = patch_meta
        return lambda obj: strategic.apply(obj, patch, meta)
    if media == STRATEGIC:
        raise errors.unsupported_media_type(accepted_types(strategic_supported=False))
    raise errors.ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})


def _json_patch(ops: list[Any]) -> Mutation:
    try:
        patch = jsonpatch.JsonPatch(ops)
    except (jsonpatch.JsonPatchException, TypeError, KeyError) as exc:
        raise errors.bad_request(
            f"the server rejected our request due to an error in our request: {exc}"
        ) from exc

    def apply(obj: JsonObject) -> JsonObject:
        try:
            result: JsonObject = patch.apply(obj, in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise errors.ApiError(422, "Invalid", _REJECTED, {}) from exc
        except (
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
            TypeError,
            KeyError,
            IndexError,
        ) as exc:
            raise errors.ApiError(422, "Invalid", _REJECTED, {}) from exc
        return result

    return apply


def parse_apply(body: bytes) -> JsonObject:
    """Decode a server-side-apply body (YAML or JSON)."""
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.bad_request("error decoding YAML: the applied configuration must be an object")
    return data


def apply_configuration(
    applied: JsonObject,
    removed: set[tuple[str, ...]],
    patch_meta: strategic.PatchMeta | None,
) -> Mutation:
    """Server-side apply onto the live object: drop the fields this manager gave up (and no
    one else owns, see :func:`kubesim.managed.check_apply`), then merge the configuration."""
    meta = patch_meta or strategic.OBJECT

    def apply(obj: JsonObject) -> JsonObject:
        managed.remove_paths(obj, removed)
        return strategic.apply(obj, copy.deepcopy(applied), meta)

    return apply
