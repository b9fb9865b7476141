"""``api.store``: synchronous access to the simulated cluster without HTTP.

Tests seed objects and assert on results through this facade. It goes through exactly the
same storage code as the HTTP API (resourceVersions, uid, defaulting, validation, conflicts,
finalizers, watch events), so seeding with it is indistinguishable from a client's write.
Objects passed in are copied and objects returned are private copies, so neither side can
mutate stored state by accident.

Differences from HTTP, on purpose: the namespace of a namespaced object defaults to
``default`` (as with kubectl), and unknown fields are rejected (``fieldValidation=Strict``) so a
typo in a test fixture fails loudly. Call it from the event loop's thread.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from kubesim import errors, patching, strategic
from kubesim.resources import Registry, ResourceType
from kubesim.selectors import parse_field_selector, parse_label_selector
from kubesim.storage import FieldValidation, Storage

JsonObject = dict[str, Any]
PatchType = Literal["merge", "json", "strategic"]

_PATCH_MEDIA = {"merge": patching.MERGE, "json": patching.JSON, "strategic": patching.STRATEGIC}


def _copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


class DirectStore:
    """Synchronous CRUD on a :class:`~kubesim.storage.Storage`; raises :class:`ApiError`."""

    def __init__(self, storage: Storage, registry: Registry) -> None:
        self._storage = storage
        self._registry = registry

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        return self._storage.rv

    def resource(self, resource: str | ResourceType) -> ResourceType:
        """Resolve ``"networkpolicies"``, ``"netpol"``, ``"NetworkPolicy"``, ... to its type."""
        return resource if isinstance(resource, ResourceType) else self._registry.resolve(resource)

    def _type_of(self, obj: JsonObject) -> ResourceType:
        rtype = self._registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if rtype is None:
            raise errors.bad_request(
                f"no kind {obj.get('kind')!r} is registered for version {obj.get('apiVersion')!r}"
            )
        return rtype

    def _namespace(self, rtype: ResourceType, obj: JsonObject, namespace: str | None) -> str | None:
        if not rtype.namespaced:
            return None
        return namespace or (obj.get("metadata") or {}).get("namespace") or "default"

    def create(
        self,
        obj: JsonObject,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        field_validation: FieldValidation = "Strict",
    ) -> JsonObject:
        """Create an object (``apiVersion``/``kind`` pick the resource); returns the stored copy."""
        rtype = self._type_of(obj)
        result = self._storage.create(
            rtype,
            _copy(obj),
            namespace=self._namespace(rtype, obj, namespace),
            dry_run=dry_run,
            field_validation=field_validation,
        )
        return result.entry.copy()

    def get(self, resource: str | ResourceType, namespace: str | None, name: str) -> JsonObject:
        """The current object, or :class:`ApiError` 404."""
        return self._storage.get(self.resource(resource), namespace, name).copy()

    def find(
        self, resource: str | ResourceType, namespace: str | None, name: str
    ) -> JsonObject | None:
        """The current object, or ``None``."""
        entry = self._storage.find(self.resource(resource), namespace, name)
        return None if entry is None else entry.copy()

    def list(
        self,
        resource: str | ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[JsonObject]:
        """Current objects in key order, optionally filtered like ``?labelSelector=``."""
        rtype = self.resource(resource)
        result = self._storage.list(
            rtype,
            namespace=namespace,
            label_selector=parse_label_selector(label_selector),
            field_selector=parse_field_selector(field_selector),
        )
        return [e.copy() for e in result.entries]

    def update(
        self,
        obj: JsonObject,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: FieldValidation = "Strict",
    ) -> JsonObject:
        """PUT semantics: conditional on ``metadata.resourceVersion`` when it is set."""
        rtype = self._type_of(obj)
        meta = obj.get("metadata") or {}
        result = self._storage.update(
            rtype,
            _copy(obj),
            namespace=self._namespace(rtype, obj, None),
            name=meta.get("name"),
            dry_run=dry_run,
            field_validation=field_validation,
            subresource=subresource,
        )
        return result.entry.copy()

    def update_status(self, obj: JsonObject) -> JsonObject:
        """Write only ``status`` (the ``/status`` subresource)."""
        return self.update(obj, subresource="status")

    def patch(
        self,
        resource: str | ResourceType,
        namespace: str | None,
        name: str,
        patch: Any,
        *,
        type: PatchType = "merge",
        subresource: str | None = None,
        field_validation: FieldValidation = "Strict",
    ) -> JsonObject:
        """Patch with a merge, JSON or strategic merge patch given as Python data."""
        rtype = self.resource(resource)
        meta: strategic.PatchMeta | None = rtype.patch_meta
        mutate = patching.mutation(_PATCH_MEDIA[type], json.dumps(patch).encode(), meta)
        result = self._storage.patch(
            rtype,
            namespace,
            name,
            mutate,
            field_validation=field_validation,
            subresource=subresource,
        )
        return result.entry.copy()

    def delete(
        self,
        resource: str | ResourceType,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> JsonObject:
        """Delete with optional preconditions; returns the last state (or the terminating one)."""
        result = self._storage.delete(
            self.resource(resource), namespace, name, uid=uid, resource_version=resource_version
        )
        return result.entry.copy()

    def remove_finalizers(
        self, resource: str | ResourceType, namespace: str | None, name: str
    ) -> JsonObject:
        """Drop all ``metadata.finalizers`` (what a controller does when it is done)."""
        return self.patch(resource, namespace, name, {"metadata": {"finalizers": None}})

    def compact(self, resource: str | ResourceType | None = None) -> None:
        """Forget the event history (same as ``api.faults.compact``)."""
        self._storage.compact(None if resource is None else self.resource(resource))
