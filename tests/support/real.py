"""A real API server dressed as the part of :class:`kubesim.KubeSim` the tests use.

:class:`RealSim` puts a :class:`~tests.support.fault_proxy.FaultProxy` in front of a running
:class:`~tests.support.kube_testenv.TestEnv` and offers what the suites call on a kubesim:
``store`` (synchronous CRUD, here HTTP straight to the server as admin), ``counters``,
``faults`` (fail, delay, drop watches, and ``compact``, which compacts the real etcd),
``outage()`` (the proxy refuses connections), ``restart()`` (the real process restarts on the
same data), ``denied`` (403 answers) and the kubeconfigs. Clients configured from its
kubeconfig talk to the proxy, so every fault and count applies to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kubesim import errors, kubeconfig, resources
from kubesim.resources import Registry, ResourceType
from tests.support.fault_proxy import FaultProxy
from tests.support.kube_testenv import TestEnv

Json = dict[str, Any]

__all__ = ["RealSim", "RealStore"]

_REGISTRY = Registry(resources.builtin_types())
for _api_version, _kind in (
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
):  # the prometheus-operator kinds the chart creates (installed as CRDs on real servers)
    _REGISTRY.register(resources.custom(_api_version, _kind))


def _type(resource: str | ResourceType) -> ResourceType:
    return resource if isinstance(resource, ResourceType) else _REGISTRY.resolve(resource)


class RealStore:
    """``DirectStore``'s calls over HTTP, as the admin, bypassing the fault proxy."""

    def __init__(self, env: TestEnv) -> None:
        self._env = env
        self._context = ssl.create_default_context(cadata=env.ca_pem.decode())

    def _path(self, rtype: ResourceType, namespace: str | None, name: str | None = None) -> str:
        base = (
            f"/api/{rtype.version}" if not rtype.group else f"/apis/{rtype.group}/{rtype.version}"
        )
        if rtype.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{rtype.plural}"
        return f"{base}/{name}" if name else base

    def request(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> Json:
        url = self._env.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._env.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=30) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                status = json.loads(raw)
            except ValueError:
                status = {"message": raw.decode(errors="replace")}
            raise errors.ApiError(
                exc.code, status.get("reason", ""), status.get("message", ""), status.get("details")
            ) from None

    @staticmethod
    def _namespace(rtype: ResourceType, obj: Json, namespace: str | None) -> str | None:
        if not rtype.namespaced:
            return None
        return namespace or (obj.get("metadata") or {}).get("namespace") or "default"

    def _type_of(self, obj: Json) -> ResourceType:
        rtype = _REGISTRY.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if rtype is None:
            raise errors.bad_request(f"no kind {obj.get('kind')!r} known to the test store")
        return rtype

    def resource(self, resource: str | ResourceType) -> ResourceType:
        return _type(resource)

    def create(
        self, obj: Json, *, namespace: str | None = None, dry_run: bool = False, **_: Any
    ) -> Json:
        rtype = self._type_of(obj)
        path = self._path(rtype, self._namespace(rtype, obj, namespace))
        return self.request("POST", path, obj, {"dryRun": "All"} if dry_run else None)

    def get(self, resource: str | ResourceType, namespace: str | None, name: str) -> Json:
        return self.request("GET", self._path(_type(resource), namespace, name))

    def find(self, resource: str | ResourceType, namespace: str | None, name: str) -> Json | None:
        try:
            return self.get(resource, namespace, name)
        except errors.ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def list(
        self,
        resource: str | ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Json]:
        query = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        found = self.request("GET", self._path(_type(resource), namespace), query=query)
        rtype = _type(resource)
        api_version = f"{rtype.group}/{rtype.version}" if rtype.group else rtype.version
        items = found.get("items") or []
        for item in items:  # list items carry no apiVersion/kind on the wire
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", rtype.kind)
        return sorted(
            items,
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )

    def update(self, obj: Json, *, subresource: str | None = None, **_: Any) -> Json:
        rtype = self._type_of(obj)
        meta = obj.get("metadata") or {}
        path = self._path(rtype, self._namespace(rtype, obj, None), meta["name"])
        if subresource:
            path += f"/{subresource}"
        return self.request("PUT", path, obj)

    def patch(
        self, resource: str | ResourceType, namespace: str | None, name: str, patch: Any, **_: Any
    ) -> Json:
        rtype = _type(resource)
        url = self._env.url + self._path(rtype, namespace, name)
        request = urllib.request.Request(url, data=json.dumps(patch).encode(), method="PATCH")
        request.add_header("Authorization", f"Bearer {self._env.token}")
        request.add_header("Content-Type", "application/merge-patch+json")
        with urllib.request.urlopen(request, context=self._context, timeout=30) as response:
            return dict(json.loads(response.read()))

    def delete(
        self,
        resource: str | ResourceType,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> Json:
        preconditions = {}
        if uid is not None:
            preconditions["uid"] = uid
        if resource_version is not None:
            preconditions["resourceVersion"] = resource_version
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if preconditions:
            body["preconditions"] = preconditions  # type: ignore[assignment]
        return self.request("DELETE", self._path(_type(resource), namespace, name), body)


class RealSim:
    """One real server seen through a fault proxy; ``async with`` starts the proxy."""

    def __init__(self, env: TestEnv) -> None:
        self.env = env
        self.store = RealStore(env)
        self.proxy = FaultProxy(env.url, env.ca_pem, compact=self._compact)

    def _compact(self) -> None:
        """Compact etcd, then restart kube-apiserver on it (blocking, a few seconds).

        kube-apiserver's watch cache keeps serving recent resourceVersions after an etcd
        compaction, so a resuming watch would not notice it; a restarted server's cache starts
        at the current revision and etcd has compacted everything older, so a watch resuming
        from before gets 410 Gone from the real server, as after a long disconnection.

        A marker object written first moves the revision past anything a client has seen: a
        client that had seen the very last revision could otherwise resume from exactly the
        compacted one, which is still valid, and no 410 would come.
        """
        self.store.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"compaction-marker-{uuid.uuid4().hex[:12]}",
                    "namespace": "default",
                },
            }
        )
        self.env.compact()
        self.env.restart()
        self.proxy.refresh_upstream()

    async def __aenter__(self) -> RealSim:
        await self.proxy.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.proxy.stop()

    @property
    def counters(self) -> Any:
        return self.proxy.counters

    @property
    def faults(self) -> Any:
        return self.proxy.faults

    @property
    def denied(self) -> Any:
        return self.proxy.denied

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def open_watches(self) -> int:
        return self.proxy.open_watches

    @contextlib.asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """Connections are refused while inside (the real server keeps running)."""
        async with self.proxy.outage():
            yield

    async def restart(self) -> None:
        """Restart the real kube-apiserver and etcd on the same data; clients see resets."""
        async with self.proxy.outage():
            await asyncio.to_thread(self.env.restart)
            self.proxy.refresh_upstream()

    def kubeconfig(self, token: str | None = None, *, namespace: str | None = None) -> Json:
        """A kubeconfig for the proxy; the admin token unless ``token`` is given."""
        return kubeconfig.build(self.url, token=token or self.env.token, namespace=namespace)

    def write_kubeconfig(
        self, path: Any, token: str | None = None, *, namespace: str | None = None
    ) -> Path:
        return kubeconfig.write(self.kubeconfig(token, namespace=namespace), path)

    def bind(self, user: str, role: Json) -> None:
        """Make ``role`` (a Role with its namespace) exactly what ``user`` may do there: the
        Role is replaced and bound to the user by a RoleBinding of the same name."""
        meta = role["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
        fresh = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name, "namespace": namespace},
            "rules": role.get("rules") or [],
        }
        self.ensure_namespace(namespace)
        for obj in (fresh, binding):
            plural = "roles" if obj["kind"] == "Role" else "rolebindings"
            with contextlib.suppress(errors.ApiError):
                self.store.delete(plural, namespace, name)
            self.store.create(obj)
        self._await_authorization(user, namespace, fresh["rules"])

    def _await_authorization(self, user: str, namespace: str, rules: list[Json]) -> None:
        """Until the RBAC authorizer's caches agree with ``rules`` (they follow informers)."""
        verbs = ("get", "list", "watch", "create", "update", "patch", "delete")
        checks = []
        for rule in rules:
            for group in rule.get("apiGroups") or [""]:
                for resource in rule.get("resources") or []:
                    names = rule.get("resourceNames") or [""]
                    for verb in verbs:
                        allowed = verb in rule.get("verbs", []) or any(
                            verb in other.get("verbs", [])
                            and resource in (other.get("resources") or [])
                            and not other.get("resourceNames")
                            for other in rules
                        )
                        checks += [(group, resource, name, verb, allowed) for name in names]
        deadline = time.monotonic() + 30
        while True:
            wrong = [c for c in checks if self._allowed(user, namespace, *c[:4]) != c[4]]
            if not wrong:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"RBAC never settled for {user}: {wrong}")
            time.sleep(0.05)

    def _allowed(
        self, user: str, namespace: str, group: str, resource: str, name: str, verb: str
    ) -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": ["system:authenticated"],
                "resourceAttributes": {
                    "namespace": namespace,
                    "group": group,
                    "resource": resource,
                    "name": name,
                    "verb": verb,
                },
            },
        }
        answer = self.store.request(
            "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
        )
        return bool(answer.get("status", {}).get("allowed"))

    # --- isolation between tests sharing one server ---

    def reset(self, namespaces: list[str]) -> None:
        """Delete what earlier tests left (NetworkPolicies, Events, Leases, Services) and make
        sure ``namespaces`` exist. Namespaces themselves are never deleted: without a
        kube-controller-manager a deleted namespace stays Terminating forever."""
        for plural in ("networkpolicies", "events", "leases", "services"):
            rtype = _type(plural)
            for obj in self.store.list(rtype):
                meta = obj["metadata"]
                if plural == "leases" and meta.get("namespace") == "kube-system":
                    continue  # kube-apiserver's own identity leases
                if plural == "services" and (meta.get("namespace"), meta["name"]) == (
                    "default",
                    "kubernetes",
                ):
                    continue  # the API server's own Service
                with contextlib.suppress(errors.ApiError):
                    self.store.delete(rtype, meta.get("namespace"), meta["name"])
        for name in namespaces:
            self.ensure_namespace(name)

    def ensure_namespace(self, name: str) -> None:
        """Create namespace ``name`` unless it exists (kube-apiserver may be creating it)."""
        if self.store.find("namespaces", None, name) is None:
            try:
                self.store.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                )
            except errors.ApiError as exc:
                if exc.code != 409:
                    raise
