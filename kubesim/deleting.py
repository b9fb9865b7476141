"""Deletion: preconditions, finalizers, namespace termination, collections.

A DELETE either removes the object (a ``DELETED`` event carrying its last state) or, while
finalizers remain, only stamps ``deletionTimestamp`` once; the update that empties the
finalizers removes it (:mod:`kubesim.storage`). Deleting a namespace folds the namespace
controller into the request: its content goes, and the namespace itself once it is empty.
"""

from __future__ import annotations

import builtins

from kubesim import errors
from kubesim.admission import Admission, reorder_meta, spec_finalizers
from kubesim.objects import WriteResult
from kubesim.resources import ResourceType
from kubesim.selectors import EVERYTHING, NOTHING, FieldSelector, LabelSelector
from kubesim.versions import Bucket, Entry, Event


class Deleting(Admission):
    """DELETE and deletecollection on top of admission and the buckets."""

    def _remove(self, bucket: Bucket, current: Entry) -> Entry:
        """Delete an object for good: DELETED event carrying its last state."""
        rv = self._next_rv()
        gone = current.restamped(rv)
        bucket.remove(current.key)
        bucket.record(Event("DELETED", gone, current))
        if bucket.rtype.namespaced:
            self._maybe_finalize_namespace(current.key[0])
        return gone

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
            raise errors.precondition_failed(
                rtype.kind,
                rtype.group,
                name,
                f"the UID in the precondition ({uid}) does not match the UID in record "
                f"({current.uid}). The object might have been deleted and then recreated",
            )
        if resource_version is not None and resource_version != str(current.rv):
            raise errors.precondition_failed(
                rtype.kind,
                rtype.group,
                name,
                f"the ResourceVersion in the precondition ({resource_version}) does not match "
                f"the ResourceVersion in record ({current.rv}). The object might have been "
                "modified",
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
        obj["metadata"] = reorder_meta(new_meta)
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
            obj["metadata"] = reorder_meta(obj["metadata"])
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

    def _maybe_finalize_namespace(self, name: str) -> None:
        ns = self._namespaces.objects.get(("", name))
        if ns is None or not ns.deleting:
            return
        for bucket in self.buckets():
            if bucket.rtype.namespaced and any(k[0] == name for k in bucket.objects):
                return
        obj = ns.copy()
        if spec_finalizers(obj):
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
