"""The object store: one global resourceVersion, per-resource objects and event history.

This is kubesim's etcd plus the generic registry of the API server. Everything a client can
observe about consistency is decided here:

* one global, strictly increasing ``resourceVersion`` shared by all resources; a write that
  changes nothing (no-op update) gets no new version and emits no event;
* ``uid``, ``creationTimestamp`` and ``generation`` (bumped only when the body outside
  metadata/status changes) are owned by the server;
* optimistic concurrency (409 Conflict), preconditions, finalizers (``deletionTimestamp``
  first, removal when the last finalizer goes) and namespace deletion cascading to the
  namespace's objects;
* a bounded event history per resource: watches resume from any version still inside it, and
  older versions are "compacted" (410 Gone), which the fault API can force.

This module holds the writes (create, update, patch); the class stacks, one job per module:
:mod:`kubesim.objects` (buckets, the version counter, reads, commits) → :mod:`kubesim.admission`
(decoding, defaulting, validation, namespace lifecycle, ``managedFields``) →
:mod:`kubesim.deleting` (preconditions, finalizers, namespaces) → :class:`Storage`. Stored
versions and events live in :mod:`kubesim.versions`, LIST in :mod:`kubesim.listing`. The store
is synchronous and single-threaded (it runs on the event loop), so every write is atomic
without locks. Watch subscribers are notified synchronously through the ``Subscriber``
protocol, which keeps the store free of any asyncio or HTTP code.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from kubesim import errors, managed
from kubesim.admission import FieldValidation, body_of, reorder_meta, spec_finalizers
from kubesim.deleting import Deleting
from kubesim.objects import DEFAULT_HISTORY, WriteResult
from kubesim.resources import ResourceType
from kubesim.versions import Bucket, Entry, parse_rv

JsonObject = dict[str, Any]

__all__ = ["DEFAULT_HISTORY", "FieldValidation", "Storage", "WriteResult"]


class Storage(Deleting):
    """The state of one simulated cluster. Not thread-safe: use it from the event loop."""

    def create(
        self,
        rtype: ResourceType,
        obj: JsonObject,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        field_validation: FieldValidation = "Warn",
        manager: managed.Manager | None = None,
    ) -> WriteResult:
        """POST: 201 semantics; ``obj`` is consumed (the caller must not reuse it).

        ``manager`` records the write in ``managedFields`` (``None``: left as sent)."""
        bucket = self.bucket(rtype)
        body_ns = (obj.get("metadata") or {}).get("namespace") if isinstance(obj, dict) else None
        if rtype.namespaced and namespace and body_ns and body_ns != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        obj, warnings = self._decode(rtype, obj, field_validation)
        meta = obj["metadata"]
        if rtype.namespaced:
            meta["namespace"] = namespace or meta.get("namespace", "")
        ns = meta.get("namespace", "") if rtype.namespaced else ""
        if meta.get("resourceVersion"):
            raise errors.ApiError(
                500, "", "resourceVersion should not be set on objects to be created"
            )
        for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "uid", "selfLink"):
            meta.pop(transient, None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(bucket, ns, meta["generateName"])
            meta = obj["metadata"] = reorder_meta(meta)
        if rtype.status_subresource:
            obj.pop("status", None)
        if manager is not None:
            self._record(rtype, None, obj, manager)
        if rtype.prepare_create is not None:
            rtype.prepare_create(obj)
        self._check_namespace(rtype, ns, meta.get("name", ""))
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = ""  # placeholder, keeps the key in struct order
        meta["creationTimestamp"] = self.clock.now()
        if rtype.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        obj["metadata"] = meta = reorder_meta(meta)
        warnings += self._validate(rtype, obj, None)
        if (ns, meta["name"]) in bucket.objects:
            raise errors.already_exists(rtype.group_resource, meta["name"])
        if dry_run:
            del meta["resourceVersion"]  # nothing was stored, so there is no version
            return WriteResult(Entry((ns, meta["name"]), obj, 0), warnings, created=True)
        entry = self._commit(bucket, obj, "ADDED", None)
        return WriteResult(entry, warnings, created=True)

    def update(
        self,
        rtype: ResourceType,
        obj: JsonObject,
        *,
        namespace: str | None = None,
        name: str | None = None,
        dry_run: bool = False,
        field_validation: FieldValidation = "Warn",
        subresource: str | None = None,
        manager: managed.Manager | None = None,
    ) -> WriteResult:
        """PUT: optimistic concurrency on ``metadata.resourceVersion`` (unconditional if unset).

        ``obj`` is consumed. A stale version is 409 Conflict, a different ``uid`` is a failed
        precondition (409), a missing object is 404 unless the kind allows create-on-update.
        Removing the last finalizer of an object being deleted deletes it.
        """
        bucket = self.bucket(rtype)
        if not isinstance(obj, dict):
            raise errors.bad_request("the request body must be a JSON object")
        body_meta = obj.get("metadata") or {}
        name = name or body_meta.get("name", "")
        if body_meta.get("name") and body_meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({body_meta['name']}) does not match the name on the "
                f"URL ({name})"
            )
        if (
            rtype.namespaced
            and namespace
            and body_meta.get("namespace") not in (None, "", namespace)
        ):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        ns = (namespace or body_meta.get("namespace", "")) if rtype.namespaced else ""
        current = bucket.objects.get((ns, name))
        if current is None:
            if rtype.allow_create_on_update and subresource is None:
                # Upstream ignores the body's resourceVersion when PUT creates.
                obj = {**obj, "metadata": {**body_meta, "name": name}}
                obj["metadata"].pop("resourceVersion", None)
                return self.create(
                    rtype,
                    obj,
                    namespace=ns,
                    dry_run=dry_run,
                    field_validation=field_validation,
                    manager=manager,
                )
            raise errors.not_found(rtype.group_resource, name)
        obj, warnings = self._decode(rtype, obj, field_validation)
        return self._apply_update(bucket, current, obj, warnings, dry_run, subresource, manager)

    def _apply_update(
        self,
        bucket: Bucket,
        current: Entry,
        obj: JsonObject,
        warnings: builtins.list[str],
        dry_run: bool,
        subresource: str | None,
        manager: managed.Manager | None = None,
    ) -> WriteResult:
        rtype = bucket.rtype
        old = current.copy()
        old_meta = old["metadata"]
        meta = obj["metadata"]
        name = old_meta["name"]
        meta["name"] = name
        if rtype.namespaced:
            meta["namespace"] = old_meta.get("namespace", "")
        wanted_rv = meta.get("resourceVersion", "")
        if wanted_rv and parse_rv(wanted_rv) != current.rv:
            raise errors.conflict(rtype.group_resource, name)
        uid = meta.get("uid", "")
        if uid and uid != old_meta.get("uid"):
            # Upstream leaks its storage layer's error text here; clients match on it rarely,
            # but kubesim says the same.
            key = "/".join(
                filter(None, ("/registry", rtype.plural, old_meta.get("namespace"), name))
            )
            raise errors.conflict(
                rtype.group_resource,
                name,
                f"StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, "
                f"AdditionalErrorMsg: Precondition failed: UID in precondition: {uid}, UID in "
                f"object meta: {old_meta.get('uid')}",
            )
        if subresource == "status":
            status = obj.get("status")
            obj = {k: v for k, v in old.items() if k != "metadata"}
            obj["metadata"] = dict(old_meta)
            if status is not None:
                obj["status"] = status
            else:
                obj.pop("status", None)
            meta = obj["metadata"]
        elif rtype.status_subresource:
            if "status" in old:
                obj["status"] = old["status"]
            else:
                obj.pop("status", None)
        if rtype.prepare_update is not None and subresource is None:
            rtype.prepare_update(obj, old)
        if manager is not None:
            self._record(rtype, old, obj, manager)
        elif "managedFields" in old_meta:
            meta["managedFields"] = old_meta["managedFields"]
        else:
            meta.pop("managedFields", None)
        for kept in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if kept in old_meta:
                meta[kept] = old_meta[kept]
            else:
                meta.pop(kept, None)
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
        else:
            meta.pop("generation", None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        obj["metadata"] = meta = reorder_meta(meta)
        warnings += self._validate(rtype, obj, old)
        if (
            old_meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not spec_finalizers(obj)
        ):
            # The answer is the object as written (finalizers gone) at its last version.
            final = Entry(current.key, obj, current.rv, rtype.extra_fields)
            if not dry_run:
                self._remove(bucket, current)
            return WriteResult(final, warnings, deleted=True)
        if obj == old:
            return WriteResult(current, warnings)
        if rtype.tracks_generation and body_of(obj) != body_of(old):
            meta["generation"] = old_meta.get("generation", 0) + 1
        if dry_run:
            return WriteResult(Entry(current.key, obj, current.rv), warnings)
        entry = self._commit(bucket, obj, "MODIFIED", current)
        if rtype is self._namespaces.rtype:
            self._maybe_finalize_namespace(name)
        return WriteResult(entry, warnings)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        mutate: Callable[[JsonObject], JsonObject],
        *,
        dry_run: bool = False,
        field_validation: FieldValidation = "Warn",
        subresource: str | None = None,
        manager: managed.Manager | None = None,
    ) -> WriteResult:
        """PATCH: ``mutate`` gets a private copy of the current object and returns the result.

        A ``metadata.resourceVersion`` left in the result acts as a precondition (409 when
        stale), which is how clients make patches conditional.
        """
        bucket = self.bucket(rtype)
        current = self.get(rtype, namespace, name)
        patched = mutate(current.copy())
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch produced something that is not a JSON object")
        meta = patched.get("metadata")
        if not isinstance(meta, dict):
            patched["metadata"] = meta = {}
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        if not meta.get("resourceVersion"):
            meta["resourceVersion"] = str(current.rv)
        if not meta.get("uid"):
            meta["uid"] = current.uid
        obj, warnings = self._decode(rtype, patched, field_validation)
        return self._apply_update(bucket, current, obj, warnings, dry_run, subresource, manager)

    def seed_namespaces(self, names: Iterable[str]) -> None:
        """Create namespaces that a fresh cluster has (``default``, ``kube-system``, ...)."""
        rtype = self._namespaces.rtype
        for name in names:
            if not self.namespace_exists(name):
                self.create(rtype, {"metadata": {"name": name}})
