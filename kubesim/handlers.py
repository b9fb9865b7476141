"""The HTTP front: authentication, authorization, faults, counters, then the API verbs.

:class:`Api` is the single aiohttp request handler of a kubesim server. For each request it
parses the :class:`~kubesim.routing.RequestInfo`, counts it, authenticates and authorizes it
(recording denials), applies injected faults, then serves discovery or one of the resource
verbs by calling :mod:`kubesim.storage`. Every failure leaves as a ``Status`` body through
:class:`~kubesim.errors.ApiError`, so error shapes are uniform.

Responses reuse each stored object's serialized bytes: GET writes them as is, LIST joins them,
WATCH frames them. Watch streams are registered so fault injection and restarts can close them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubesim import errors, managed, routing, tables, wire
from kubesim.counters import Counters
from kubesim.discovery import AGGREGATED_CONTENT_TYPE, Discovery, version_info
from kubesim.faults import Faults
from kubesim.mutating import Mutations
from kubesim.rbac import Authorizer, Denial, Subject
from kubesim.resources import Registry, ResourceType
from kubesim.storage import Storage
from kubesim.streaming import ActiveWatch, Streams
from kubesim.versions import dumps

JsonObject = dict[str, Any]
_log = logging.getLogger("kubesim")

_HEALTH = {"/healthz", "/livez", "/readyz"}
_OPTIONS = {
    "create": "CreateOptions",
    "update": "UpdateOptions",
    "patch": "PatchOptions",
    "delete": "DeleteOptions",
    "deletecollection": "DeleteOptions",
}
"""The options kind upstream names in a 422 for a bad ``dryRun``/``fieldValidation``."""


@dataclass(eq=False)
class Api(Streams, Mutations):
    """The request handler; all state lives in the objects it is given."""

    storage: Storage
    registry: Registry
    authorizer: Authorizer
    faults: Faults
    counters: Counters
    bookmark_interval: float
    server_address: Callable[[], str]
    denied: list[Denial] = field(default_factory=list)
    watches: set[ActiveWatch] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.discovery = Discovery(self.registry)

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        info = routing.parse(request.method, request.path, request.query)
        if info.is_resource:
            self.counters.record(info.verb, info.qualified_resource)
        try:
            self._authorize(request, info)
            verdict = self.faults.check(info)
            if verdict.delay:
                await asyncio.sleep(verdict.delay)
            if verdict.error is not None:
                raise verdict.error
            response = await self._serve(request, info)
        except errors.ApiError as exc:
            response = wire.error_response(exc)
        except web.HTTPRequestEntityTooLarge:
            # aiohttp refuses to read a body over ``client_max_size``; answer as upstream does.
            limit = request.client_max_size
            response = wire.error_response(errors.request_entity_too_large(limit))
        except Exception as exc:
            # A kubesim bug must still look like an API server failure to the client (and be
            # visible in the test log), not like a dropped connection.
            _log.exception("kubesim failed to serve %s %s", request.method, request.path_qs)
            response = wire.error_response(errors.internal(f"{type(exc).__name__}: {exc}"))
        if (
            isinstance(response, web.Response)
            and response.content_type == wire.JSON
            and wire.wants_yaml(request.headers.get("Accept", ""))
        ):
            response = wire.as_yaml(response)
        if info.is_resource:
            self.counters.record_response(info.verb, info.qualified_resource, response.status)
        return response

    def _authorize(self, request: web.BaseRequest, info: routing.RequestInfo) -> None:
        if not self.authorizer.enabled:
            return
        subject = self.authorizer.authenticate(request.headers.get("Authorization"))
        if subject is None:
            if not info.is_resource and self.authorizer.is_public(info.path):
                return
            raise errors.unauthorized()
        if self.authorizer.allows(subject, info):
            return
        self._deny(subject, info)

    def _deny(self, subject: Subject, info: routing.RequestInfo) -> None:
        self.denied.append(
            Denial(
                verb=info.verb,
                resource=info.resource,
                namespace=info.namespace,
                name=info.name,
                user=subject.user,
                api_group=info.group,
                subresource=info.subresource,
                path=info.path,
            )
        )
        why = self.authorizer.forbidden_reason(subject, info)
        if not info.is_resource:
            raise errors.ApiError(403, "Forbidden", f"forbidden: {why}", {})
        gr = errors.GroupResource(info.group, info.resource)
        raise errors.forbidden_request(gr, info.name, why)

    async def _serve(
        self, request: web.BaseRequest, info: routing.RequestInfo
    ) -> web.StreamResponse:
        if info.is_resource:
            return await self._resource(request, info)
        path = info.path.rstrip("/") or "/"
        if request.method not in {"GET", "HEAD"}:
            raise errors.ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                {},
            )
        if path in _HEALTH or path.startswith(tuple(f"{h}/" for h in _HEALTH)):
            return web.Response(body=b"ok", content_type="text/plain")
        if path == "/version":
            return wire.raw_json(dumps(version_info()))
        aggregated = wire.wants_aggregated(request.headers.get("Accept", ""))
        if path == "/api":
            if aggregated:
                return wire.raw_json(
                    self.discovery.aggregated(legacy=True), AGGREGATED_CONTENT_TYPE
                )
            return wire.raw_json(self.discovery.core_versions(self.server_address()))
        if path == "/apis":
            if aggregated:
                return wire.raw_json(
                    self.discovery.aggregated(legacy=False), AGGREGATED_CONTENT_TYPE
                )
            return wire.raw_json(self.discovery.group_list())
        parts = [p for p in path.split("/") if p]
        if parts[0] == "api" and len(parts) == 2:
            body = self.discovery.resource_list("", parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            body = self.discovery.group(parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            body = self.discovery.resource_list(parts[1], parts[2])
        elif path == "/openapi/v2":
            body = self.discovery.openapi_v2()
        elif path == "/openapi/v3":
            body = self.discovery.openapi_root()
        elif path.startswith("/openapi/v3/"):
            body = self.discovery.openapi_group_version(path[len("/openapi/v3/") :]) or None
        else:
            body = None
        if body is None:
            raise errors.path_not_found()
        return wire.raw_json(body)

    async def _resource(
        self, request: web.BaseRequest, info: routing.RequestInfo
    ) -> web.StreamResponse:
        rtype = self.registry.lookup(info.group, info.version, info.resource)
        if rtype is None:
            raise errors.path_not_found()
        namespace = info.namespace
        if not rtype.namespaced:
            if namespace and not (rtype.plural == "namespaces" and namespace == info.name):
                raise errors.path_not_found()
            namespace = ""
        if info.subresource and not (info.subresource == "status" and rtype.status_subresource):
            raise errors.path_not_found()
        if info.verb not in rtype.verbs:
            raise errors.method_not_allowed(info.verb, rtype.group_resource)
        query = request.query
        verb = info.verb
        if rtype.review:
            return await self._review(request, rtype)
        if verb == "get":
            entry = self.storage.get(rtype, namespace, info.name)
            return wire.object_response(request, rtype, entry)
        if verb == "list":
            return self._list(request, rtype, namespace)
        if verb == "watch":
            return await self._watch(request, rtype, namespace, info)
        if verb == "deletecollection":
            return await self._delete_collection(request, rtype, namespace)
        options = _OPTIONS.get(verb, "CreateOptions")
        dry_run = wire.dry_run(query.getall("dryRun", []), options)
        validation = wire.field_validation(query.get("fieldValidation"), options)
        manager = managed.Manager(
            managed.manager_from(query.get("fieldManager"), request.headers.get("User-Agent"))
        )
        if verb == "create":
            if info.name:
                raise errors.method_not_allowed("create", rtype.group_resource)
            if rtype.namespaced and not namespace:
                raise errors.path_not_found()
            body = await wire.read_object(request)
            result = self.storage.create(
                rtype,
                body,
                namespace=namespace,
                dry_run=dry_run,
                field_validation=validation,
                manager=manager,
            )
            return wire.write_response(request, rtype, result, 201)
        if verb == "update":
            body = await wire.read_object(request)
            result = self.storage.update(
                rtype,
                body,
                namespace=namespace,
                name=info.name,
                dry_run=dry_run,
                field_validation=validation,
                subresource=info.subresource or None,
                manager=manager,
            )
            return wire.write_response(request, rtype, result, 201 if result.created else 200)
        if verb == "patch":
            return await self._patch(request, rtype, namespace, info, dry_run, validation, manager)
        if verb == "delete":
            return await self._delete(request, rtype, namespace, info.name, dry_run)
        raise errors.method_not_allowed(verb, rtype.group_resource)

    def _list(self, request: web.BaseRequest, rtype: ResourceType, namespace: str) -> web.Response:
        query = request.query
        label_selector, field_selector = wire.parse_selectors(query, rtype)
        wire.int_param(query.get("timeoutSeconds"), "timeoutSeconds")
        result = self.storage.list(
            rtype,
            namespace=namespace or None,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=wire.int_param(query.get("limit"), "limit"),
            continue_token=query.get("continue") or None,
            resource_version=query.get("resourceVersion"),
            resource_version_match=query.get("resourceVersionMatch"),
        )
        if tables.wants_table(request.headers.get("Accept", "")):
            body = tables.table(
                result.entries,
                rtype,
                str(result.rv),
                include=query.get("includeObject"),
                continue_token=result.continue_token,
                remaining=result.remaining,
            )
            return wire.raw_json(body, tables.TABLE_CONTENT_TYPE)
        wire.check_acceptable(request)
        return wire.raw_json(wire.list_body(rtype, result))

    async def _review(self, request: web.BaseRequest, rtype: ResourceType) -> web.Response:
        """SelfSubjectAccessReview / SelfSubjectReview: answered from RBAC, never stored."""
        body = await wire.read_object(request)
        subject = self.authorizer.authenticate(request.headers.get("Authorization"))
        user = subject.user if subject else "system:anonymous"
        groups = (
            [*subject.groups, "system:authenticated"] if subject else ["system:unauthenticated"]
        )
        out: JsonObject = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {}}
        if rtype.plural == "selfsubjectreviews":
            out["status"] = {"userInfo": {"username": user, "groups": groups}}
            return wire.raw_json(dumps(out), status=201)
        spec = body.get("spec") or {}
        attrs = spec.get("resourceAttributes")
        if attrs is not None:
            asked = routing.RequestInfo(
                path="",
                verb=attrs.get("verb", ""),
                is_resource=True,
                group=attrs.get("group", ""),
                namespace=attrs.get("namespace", ""),
                resource=attrs.get("resource", ""),
                subresource=attrs.get("subresource", ""),
                name=attrs.get("name", ""),
            )
        else:
            other = spec.get("nonResourceAttributes") or {}
            asked = routing.RequestInfo(path=other.get("path", ""), verb=other.get("verb", ""))
        if not self.authorizer.enabled:
            allowed = True
        else:
            allowed = subject is not None and self.authorizer.allows(subject, asked)
        out["spec"] = spec
        out["status"] = {"allowed": allowed}
        return wire.raw_json(dumps(out), status=201)
