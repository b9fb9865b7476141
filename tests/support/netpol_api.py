"""An in-memory NetworkPolicy API for reconciler tests: it keeps objects with server-owned
versions and uids, checks delete and update preconditions like the API server, and notes
every write, so a test can assert that nothing was written. :class:`Cluster` puts the real
reconciler and worker loop on two of them."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

import translate
from syncer.pipeline import caching, queueing, reconciling, working
from syncer.runtime import clients, errors, ratelimiting
from syncer.runtime import clock as clocks
from tests.support.workers import Counted, Told
from translate import ObjectKey

Json = dict[str, Any]
TARGET = translate.Target(vcluster="vc", host_namespace="vcluster-vc")


class NetpolApi:
    """The get/create/replace/delete calls of :class:`clients.KubeApi`, in memory."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self.objects: dict[tuple[str, str], Json] = {}
        self.writes: list[tuple[str, str, str]] = []
        """(verb, namespace, name) of every write request, answered or refused."""
        self._versions = itertools.count(1)

    def put(self, obj: Mapping[str, Any]) -> Json:
        """Store ``obj`` as the server would (new version; uid kept or made); no write noted."""
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        key = (meta["namespace"], meta["name"])
        old = self.objects.get(key)
        meta["resourceVersion"] = str(next(self._versions))
        meta["uid"] = old["metadata"]["uid"] if old else f"uid-{meta['name']}"
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def _missing(self, name: str) -> errors.NotFound:
        return errors.NotFound(404, reason="NotFound", message=f"{name} not found")

    async def get(self, resource: clients.Resource, namespace: str | None, name: str) -> Json:
        found = self.objects.get((namespace or "", name))
        if found is None:
            raise self._missing(name)
        return copy.deepcopy(found)

    async def create(
        self, resource: clients.Resource, namespace: str | None, body: Mapping[str, Any]
    ) -> Json:
        name = body["metadata"]["name"]
        self.writes.append(("create", namespace or "", name))
        if (namespace or "", name) in self.objects:
            raise errors.AlreadyExists(409, reason="AlreadyExists", message=name)
        return self.put({**body, "metadata": {**body["metadata"], "namespace": namespace}})

    async def replace(
        self, resource: clients.Resource, namespace: str | None, name: str, body: Any
    ) -> Json:
        self.writes.append(("update", namespace or "", name))
        current = self.objects.get((namespace or "", name))
        if current is None:
            raise self._missing(name)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, reason="Conflict", message="stale")
        return self.put(body)

    async def delete(
        self,
        resource: clients.Resource,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> None:
        self.writes.append(("delete", namespace or "", name))
        current = self.objects.get((namespace or "", name))
        if current is None:
            raise self._missing(name)
        meta = current["metadata"]
        if (uid and uid != meta["uid"]) or (
            resource_version and resource_version != meta["resourceVersion"]
        ):
            raise errors.Conflict(409, reason="Conflict", message="precondition failed")
        del self.objects[(namespace or "", name)]


class Cluster:
    """Both caches and APIs, a reconciler and the worker loop around it."""

    def __init__(self, *, may_write: bool = True) -> None:
        self.leading = may_write
        self.clock = clocks.FakeClock()
        self.virtual_api = NetpolApi("virtual")
        self.host_api = NetpolApi("host")
        self.virtual = caching.Store(strip=caching.strip_virtual)
        self.host = caching.Store(strip=caching.strip_host, digests=True)
        self.reconciler = reconciling.Reconciler(
            target=TARGET,
            virtual=self.virtual,
            host=self.host,
            host_api=self.host_api,  # type: ignore[arg-type]  # in memory
            virtual_api=self.virtual_api,  # type: ignore[arg-type]  # in memory
            desire=lambda obj: translate.to_host(obj, TARGET),
            may_write=lambda: self.leading,
            clock=self.clock,
        )
        self.told, self.metrics = Told(), Counted()
        self.queue: queueing.WorkQueue[ObjectKey] = queueing.WorkQueue(
            limiter=ratelimiting.controller_limiter(clock=self.clock), clock=self.clock
        )
        self.workers = working.Workers(
            queue=self.queue,
            reconciler=self.reconciler,
            virtual=self.virtual,
            recorder=self.told,
            metrics=self.metrics,
            clock=self.clock,
            max_retries=3,
        )

    def create_virtual(self, obj: dict[str, Any]) -> None:
        self.virtual.upsert(self.virtual_api.put(obj))

    def delete_virtual(self, key: ObjectKey) -> None:
        del self.virtual_api.objects[(key.namespace, key.name)]
        self.virtual.remove(key)

    def put_host(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A host object as another writer left it, listed into the host cache."""
        stored = self.host_api.put(obj)
        self.host.upsert(stored)
        return stored

    async def process(self, key: ObjectKey) -> None:
        await self.workers.process(key)

    def host_object(self, name: str) -> dict[str, Any] | None:
        return self.host_api.objects.get((TARGET.host_namespace, name))
