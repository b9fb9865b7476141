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

Stored versions, events and per-resource buckets live in :mod:`kubesim.versions`, LIST in
:mod:`kubesim.listing`. The store is synchronous and single-threaded (it runs on the event loop), so
every write is atomic without locks. Watch subscribers are notified synchronously through the
:class:`Subscriber` protocol, which keeps this module free of any asyncio or HTTP code.
"""

from __future__ import annotations

import builtins
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from kubesim import errors, listing, managed, schema, validation
from kubesim.errors import FieldError
from kubesim.listing import ListResult
from kubesim.resources import Registry, ResourceType
from kubesim.selectors import EVERYTHING, NOTHING, FieldSelector, LabelSelector
from kubesim.versions import (
    Bucket,
    Clock,
    Entry,
    Event,
    EventType,
    ObjectKey,
    Subscriber,
    parse_rv,
)

JsonObject = dict[str, Any]
FieldValidation = Literal["Strict", "Warn", "Ignore"]

DEFAULT_HISTORY = 100_000
"""Events kept per resource; big enough that a 10,000-object benchmark never sees 410."""

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATE_PREFIX = 58


@dataclass(slots=True)
class WriteResult:
    """What a write returns: the resulting version and the ``Warning`` headers to send."""

    entry: Entry
    warnings: list[str] = field(default_factory=list)
    created: bool = False
    deleted: bool = False
    """For deletes: False when finalizers only set ``deletionTimestamp``."""


class Storage:
    """The state of one simulated cluster. Not thread-safe: use it from the event loop."""

    def __init__(self, registry: Registry, *, history: int = DEFAULT_HISTORY) -> None:
        self.registry = registry
        self.history = history
        self.rv = 0
        self.clock = Clock()
        self._buckets: dict[int, Bucket] = {}
        self._namespaces = self.bucket(registry.resolve("namespaces"))

    # --- plumbing -----------------------------------------------------------------------------

    def bucket(self, rtype: ResourceType) -> Bucket:
        """The bucket of a resource type (created on first use)."""
        bucket = self._buckets.get(id(rtype))
        if bucket is None:
            bucket = self._buckets[id(rtype)] = Bucket(rtype, self.history)
        return bucket

    def buckets(self) -> builtins.list[Bucket]:
        """Every bucket created so far."""
        return list(self._buckets.values())

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _key(self, rtype: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return (namespace or "", name) if rtype.namespaced else ("", name)

    def subscribe(self, rtype: ResourceType, sub: Subscriber) -> None:
        """Start delivering events of ``rtype`` to ``sub``."""
        self.bucket(rtype).subscribers.add(sub)

    def unsubscribe(self, rtype: ResourceType, sub: Subscriber) -> None:
        """Stop delivering events to ``sub`` (idempotent)."""
        self.bucket(rtype).subscribers.discard(sub)

    def compact(self, rtype: ResourceType | None = None) -> None:
        """Forget the event history so watches and continues from older versions get 410."""
        for bucket in [self.bucket(rtype)] if rtype else self.buckets():
            bucket.history.clear()
            bucket.compacted_rv = self.rv

    # --- reads --------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Entry:
        """The current version, or 404."""
        entry = self.bucket(rtype).objects.get(self._key(rtype, namespace, name))
        if entry is None:
            raise errors.not_found(rtype.group_resource, name)
        return entry

    def find(self, rtype: ResourceType, namespace: str | None, name: str) -> Entry | None:
        """The current version or ``None``."""
        return self.bucket(rtype).objects.get(self._key(rtype, namespace, name))

    def namespace_exists(self, name: str) -> bool:
        """Whether a Namespace object of that name exists (terminating or not)."""
        return ("", name) in self._namespaces.objects

    def list(
        self,
        rtype: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: LabelSelector = EVERYTHING,
        field_selector: FieldSelector = NOTHING,
        limit: int = 0,
        continue_token: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ListResult:
        """LIST with upstream's resourceVersion semantics (see :func:`listing.list_bucket`)."""
        return listing.list_bucket(
            self.bucket(rtype),
            self.rv,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            continue_token=continue_token,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
        )

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
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
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

    def _commit(
        self, bucket: Bucket, obj: JsonObject, type_: EventType, prev: Entry | None
    ) -> Entry:
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        meta = obj["metadata"]
        key = (
            (meta.get("namespace", ""), meta["name"])
            if bucket.rtype.namespaced
            else ("", meta["name"])
        )
        entry = Entry(key, obj, rv, bucket.rtype.extra_fields)
        bucket.put(entry)
        bucket.record(Event(type_, entry, prev))
        return entry

    def _remove(self, bucket: Bucket, current: Entry) -> Entry:
        """Delete an object for good: DELETED event carrying its last state."""
        rv = self._next_rv()
        gone = current.restamped(rv)
        bucket.remove(current.key)
        bucket.record(Event("DELETED", gone, current))
        if bucket.rtype.namespaced:
            self._maybe_finalize_namespace(current.key[0])
        return gone

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
            meta = obj["metadata"] = _reorder_meta(meta)
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
        obj["metadata"] = meta = _reorder_meta(meta)
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
            raise errors.conflict(
                rtype.group_resource,
                name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{old_meta.get('uid')}",
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
        obj["metadata"] = meta = _reorder_meta(meta)
        warnings += self._validate(rtype, obj, old)
        if (
            old_meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not _spec_finalizers(obj)
        ):
            # The answer is the object as written (finalizers gone) at its last version.
            final = Entry(current.key, obj, current.rv, rtype.extra_fields)
            if not dry_run:
                self._remove(bucket, current)
            return WriteResult(final, warnings, deleted=True)
        if obj == old:
            return WriteResult(current, warnings)
        if rtype.tracks_generation and _body(obj) != _body(old):
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

    def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        dry_run: bool = False,
    ) -> WriteResult:
        """DELETE with preconditions; objects with finalizers only get ``deletionTimestamp``."""
        bucket = self.bucket(rtype)
        current = self.get(rtype, namespace, name)
        if uid is not None and uid != current.uid:
            raise errors.conflict(
                rtype.group_resource,
                name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{current.uid}",
            )
        if resource_version is not None and resource_version != str(current.rv):
            raise errors.conflict(
                rtype.group_resource,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{resource_version}, ResourceVersion in object meta: {current.rv}",
            )
        if dry_run:
            return WriteResult(current, deleted=not current.finalizers)
        if rtype is self._namespaces.rtype:
            return self._delete_namespace(current)
        if current.finalizers:
            return WriteResult(self._mark_deleting(bucket, current))
        return WriteResult(self._remove(bucket, current), deleted=True)

    def _mark_deleting(self, bucket: Bucket, current: Entry) -> Entry:
        """Graceful deletion: stamp ``deletionTimestamp`` once, bump generation if tracked."""
        if current.deleting:
            return current
        obj = current.copy()
        new_meta = obj["metadata"]
        new_meta["deletionTimestamp"] = self.clock.now()
        new_meta["deletionGracePeriodSeconds"] = 0
        if new_meta.get("generation", 0) > 0:
            new_meta["generation"] += 1
        obj["metadata"] = _reorder_meta(new_meta)
        return self._commit(bucket, obj, "MODIFIED", current)

    def _delete_namespace(self, current: Entry) -> WriteResult:
        """Mark the namespace Terminating, delete its content, then the namespace itself.

        This folds the namespace controller into the DELETE: objects without finalizers go at
        once; objects with finalizers keep the namespace Terminating until they are gone.
        """
        name = current.key[1]
        terminating = current
        if not current.deleting:
            obj = current.copy()
            obj["metadata"]["deletionTimestamp"] = self.clock.now()
            obj["metadata"] = _reorder_meta(obj["metadata"])
            obj["status"] = {"phase": "Terminating"}
            terminating = self._commit(self._namespaces, obj, "MODIFIED", current)
        for bucket in self.buckets():
            if not bucket.rtype.namespaced:
                continue
            for key in [k for k in bucket.objects if k[0] == name]:
                entry = bucket.objects[key]
                if entry.finalizers:
                    self._mark_deleting(bucket, entry)
                else:
                    self._remove_quiet(bucket, entry)
        self._maybe_finalize_namespace(name)
        return WriteResult(terminating)

    def _remove_quiet(self, bucket: Bucket, current: Entry) -> None:
        """Remove without re-checking namespace finalization (the caller does it once)."""
        rv = self._next_rv()
        bucket.remove(current.key)
        bucket.record(Event("DELETED", current.restamped(rv), current))

    def _maybe_finalize_namespace(self, name: str) -> None:
        ns = self._namespaces.objects.get(("", name))
        if ns is None or not ns.deleting:
            return
        for bucket in self.buckets():
            if bucket.rtype.namespaced and any(k[0] == name for k in bucket.objects):
                return
        obj = ns.copy()
        if _spec_finalizers(obj):
            obj["spec"] = {}
            ns = self._commit(self._namespaces, obj, "MODIFIED", ns)
        if not ns.finalizers:
            self._remove(self._namespaces, ns)

    def delete_collection(
        self,
        rtype: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: LabelSelector = EVERYTHING,
        field_selector: FieldSelector = NOTHING,
        dry_run: bool = False,
    ) -> builtins.list[Entry]:
        """DELETE on a collection: every matching object, each like a single delete."""
        listed = self.list(
            rtype, namespace=namespace, label_selector=label_selector, field_selector=field_selector
        )
        out: builtins.list[Entry] = []
        for entry in listed.entries:
            if self.find(rtype, entry.key[0], entry.key[1]) is None:
                continue  # already gone (namespace cascade)
            result = self.delete(rtype, entry.key[0], entry.key[1], dry_run=dry_run)
            out.append(result.entry)
        return out

    def iter_entries(self, rtype: ResourceType) -> Iterator[Entry]:
        """Current versions in key order (used by initial watch events)."""
        bucket = self.bucket(rtype)
        for key in bucket.sorted_keys():
            yield bucket.objects[key]

    def seed_namespaces(self, names: Iterable[str]) -> None:
        """Create namespaces that a fresh cluster has (``default``, ``kube-system``, ...)."""
        rtype = self._namespaces.rtype
        for name in names:
            if not self.namespace_exists(name):
                self.create(rtype, {"metadata": {"name": name}})


def _spec_finalizers(obj: JsonObject) -> list[str]:
    if obj.get("kind") != "Namespace":
        return []
    finalizers: list[str] = (obj.get("spec") or {}).get("finalizers") or []
    return finalizers


def _body(obj: JsonObject) -> JsonObject:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


_META_ORDER = [name for name, _, _ in schema.OBJECT_META.fields]


def _reorder_meta(meta: JsonObject) -> JsonObject:
    """ObjectMeta keys in Go struct order, so stored JSON reads like the real server's."""
    ordered = {k: meta[k] for k in _META_ORDER if k in meta}
    if len(ordered) != len(meta):
        ordered.update((k, v) for k, v in meta.items() if k not in ordered)
    return ordered
