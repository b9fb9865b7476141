"""Admission of a write: decoding, defaulting, validation, namespace lifecycle, ownership.

Everything between "a client sent this body" and "this version may be committed": the body is
checked against the URL's kind and decoded through the kind's schema (unknown fields
dropped, warned about or rejected per ``fieldValidation``), defaulted, validated with
upstream's rules (422 with causes), refused in a missing or terminating namespace, and its
``managedFields`` recorded (:mod:`kubesim.managed`).
"""

from __future__ import annotations

import builtins
import random
from typing import Any, Literal

from kubesim import errors, managed, schema, validation
from kubesim.errors import FieldError
from kubesim.objects import ObjectStore
from kubesim.resources import ResourceType
from kubesim.versions import Bucket

JsonObject = dict[str, Any]
FieldValidation = Literal["Strict", "Warn", "Ignore"]

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATE_PREFIX = 58


class Admission(ObjectStore):
    """The checks every create and update passes before it is committed."""

    def _decode(
        self, rtype: ResourceType, obj: JsonObject, field_validation: FieldValidation
    ) -> tuple[JsonObject, builtins.list[str]]:
        """Check kind/apiVersion, prune through the kind's schema, report unknown fields."""
        if not isinstance(obj, dict):
            raise errors.bad_request("the request body must be a JSON object")
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if api_version and api_version != rtype.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rtype.api_version})"
            )
        if kind and kind != rtype.kind:
            raise errors.bad_request(
                f'{kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                f'no kind "{kind}" is registered for version "{api_version or rtype.api_version}"'
                ' in scheme "pkg/runtime/scheme.go:111"'
            )
        decoded, unknown = schema.decode_or_raise(rtype.body, obj, rtype.kind, rtype.version)
        # Upstream key order: kind, apiVersion, metadata, then the body.
        decoded = {"kind": rtype.kind, "apiVersion": rtype.api_version, **decoded}
        warnings: builtins.list[str] = []
        if unknown and field_validation == "Strict":
            detail = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise errors.bad_request(
                f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                f"{rtype.kind}: strict decoding error: {detail}"
            )
        if unknown and field_validation == "Warn":
            warnings = [f'unknown field "{path}"' for path in unknown]
        if rtype.defaulter is not None:
            rtype.defaulter(decoded)
        return decoded, warnings

    def _validate(
        self, rtype: ResourceType, obj: JsonObject, old: JsonObject | None
    ) -> builtins.list[str]:
        meta = obj["metadata"]
        errs: builtins.list[FieldError] = validation.validate_object_meta(
            meta, namespaced=rtype.namespaced, name_validator=rtype.name_validator
        )
        if old is not None:
            errs += validation.validate_object_meta_update(meta, old["metadata"])
        if rtype.validator is not None:
            errs += rtype.validator(obj, old)
        if errs:
            raise errors.invalid_object(rtype.kind, rtype.group, meta.get("name", ""), errs)
        return rtype.warner(obj) if rtype.warner is not None else []

    def _check_namespace(self, rtype: ResourceType, namespace: str, name: str) -> None:
        """NamespaceLifecycle admission: 404 when missing, 403 when terminating."""
        if not rtype.namespaced:
            return
        ns = self._namespaces.objects.get(("", namespace))
        if ns is None:
            raise errors.not_found(self._namespaces.rtype.group_resource, namespace)
        if ns.deleting:
            err = errors.forbidden_request(
                rtype.group_resource,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )
            assert err.details is not None
            err.details["causes"] = [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ]
            raise err

    def _record(
        self, rtype: ResourceType, old: JsonObject | None, obj: JsonObject, manager: managed.Manager
    ) -> None:
        """Set ``managedFields`` of ``obj`` for this write (see :mod:`kubesim.managed`)."""
        entries = managed.record(
            rtype.body,
            old,
            obj,
            manager,
            rtype.api_version,
            self.clock.now(),
            drop_status=rtype.status_subresource,
        )
        if entries:
            obj["metadata"]["managedFields"] = entries
        else:
            obj["metadata"].pop("managedFields", None)

    def _generate_name(self, bucket: Bucket, namespace: str, prefix: str) -> str:
        prefix = prefix[:_MAX_GENERATE_PREFIX]
        for _ in range(16):
            name = prefix + "".join(random.choices(_GENERATE_ALPHABET, k=5))
            if (namespace, name) not in bucket.objects:
                return name
        return name


def spec_finalizers(obj: JsonObject) -> list[str]:
    if obj.get("kind") != "Namespace":
        return []
    finalizers: list[str] = (obj.get("spec") or {}).get("finalizers") or []
    return finalizers


def body_of(obj: JsonObject) -> JsonObject:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


_META_ORDER = [name for name, _, _ in schema.OBJECT_META.fields]


def reorder_meta(meta: JsonObject) -> JsonObject:
    """ObjectMeta keys in Go struct order, so stored JSON reads like the real server's."""
    ordered = {k: meta[k] for k in _META_ORDER if k in meta}
    if len(ordered) != len(meta):
        ordered.update((k, v) for k, v in meta.items() if k not in ordered)
    return ordered
