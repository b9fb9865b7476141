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
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubesim import errors, managed, patching, routing, selectors, tables, versions, watching, wire
from kubesim.counters import Counters
from kubesim.discovery import AGGREGATED_CONTENT_TYPE, Discovery, version_info
from kubesim.faults import Faults
from kubesim.listing import ListResult
from kubesim.rbac import Authorizer, Denial, Subject
from kubesim.resources import Registry, ResourceType
from kubesim.storage import FieldValidation, Storage, WriteResult
from kubesim.versions import Entry, dumps

JsonObject = dict[str, Any]
_log = logging.getLogger("kubesim")

_DEFAULT_WATCH_TIMEOUT = 1800.0
_TOO_LARGE_WAIT = 3.0
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
class ActiveWatch:
    """An open watch stream, so it can be closed by fault injection or a restart."""

    watcher: watching.Watcher
    request: web.BaseRequest


@dataclass(eq=False)
class Api:
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

    # --- entry point --------------------------------------------------------------------------

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

    # --- non-resource endpoints ---------------------------------------------------------------

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
        elif path == "/openapi/v3":
            body = self.discovery.openapi_root()
        elif path.startswith("/openapi/v3/"):
            body = self.discovery.openapi_group_version(path[len("/openapi/v3/") :]) or None
        else:
            body = None
        if body is None:
            raise errors.path_not_found()
        return wire.raw_json(body)

    # --- resources ----------------------------------------------------------------------------

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
            return self._object_response(request, rtype, entry)
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
            return self._write_response(request, rtype, result, 201)
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
            return self._write_response(request, rtype, result, 201 if result.created else 200)
        if verb == "patch":
            return await self._patch(request, rtype, namespace, info, dry_run, validation, manager)
        if verb == "delete":
            return await self._delete(request, rtype, namespace, info.name, dry_run)
        raise errors.method_not_allowed(verb, rtype.group_resource)

    def _object_response(
        self,
        request: web.BaseRequest,
        rtype: ResourceType,
        entry: Entry,
        status: int = 200,
        warnings: list[str] | None = None,
    ) -> web.Response:
        if tables.wants_table(request.headers.get("Accept", "")):
            body = tables.table(
                [entry], rtype, str(entry.rv), include=request.query.get("includeObject")
            )
            return wire.raw_json(body, tables.TABLE_CONTENT_TYPE, status, warnings=warnings)
        wire.check_acceptable(request)
        return wire.raw_json(entry.raw, wire.JSON, status, warnings=warnings)

    def _write_response(
        self, request: web.BaseRequest, rtype: ResourceType, result: WriteResult, status: int
    ) -> web.Response:
        return self._object_response(request, rtype, result.entry, status, result.warnings)

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

    async def _watch(
        self,
        request: web.BaseRequest,
        rtype: ResourceType,
        namespace: str,
        info: routing.RequestInfo,
    ) -> web.StreamResponse:
        query = request.query
        label_selector, field_selector = wire.parse_selectors(query, rtype)
        if info.name and (info.legacy_watch or query.get("watch")) and "fieldSelector" not in query:
            field_selector = selectors.parse_field_selector(f"metadata.name={info.name}")
        timeout = float(
            wire.int_param(query.get("timeoutSeconds"), "timeoutSeconds") or _DEFAULT_WATCH_TIMEOUT
        )
        send_initial = query.get("sendInitialEvents")
        if send_initial is not None and query.get("resourceVersionMatch") != "NotOlderThan":
            raise errors.invalid_object(
                "ListOptions",
                "meta.k8s.io",
                "",
                [
                    errors.forbidden(
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    )
                ],
            )
        requested = query.get("resourceVersion") or ""
        if requested and not requested.isdigit():
            raise errors.ApiError(500, "", versions.rv_syntax_error(requested))
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        if not as_table:
            wire.check_acceptable(request)
        error: errors.ApiError | None = None
        watcher: watching.Watcher | None = None
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _TOO_LARGE_WAIT
        while True:
            try:
                watcher = watching.open_watch(
                    self.storage,
                    rtype,
                    namespace=namespace or None,
                    label_selector=label_selector,
                    field_selector=field_selector,
                    resource_version=query.get("resourceVersion"),
                    send_initial_events=None
                    if send_initial is None
                    else send_initial.lower() == "true",
                    allow_bookmarks=(query.get("allowWatchBookmarks") or "").lower()
                    in {"true", "1"},
                )
                break
            except errors.ApiError as exc:
                if exc.code == 504 and loop.time() < give_up:
                    await asyncio.sleep(0.05)
                    continue
                error = exc
                break
        response = web.StreamResponse(status=200)
        response.content_type = tables.TABLE_CONTENT_TYPE if as_table else wire.JSON
        response.enable_chunked_encoding()
        await response.prepare(request)
        if error is not None or watcher is None:
            assert error is not None
            await response.write(watching.error_line(error))
            await response.write_eof()
            return response
        active = ActiveWatch(watcher, request)
        self.watches.add(active)

        async def write(data: bytes) -> None:
            if as_table:
                data = tables.watch_lines_as_table(data, rtype)
            await response.write(data)

        try:
            mode = await watching.pump(
                watcher, write, duration=timeout, bookmark_interval=self.bookmark_interval
            )
        finally:
            self.watches.discard(active)
        if mode == "drop":
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response

    async def _patch(
        self,
        request: web.BaseRequest,
        rtype: ResourceType,
        namespace: str,
        info: routing.RequestInfo,
        dry_run: bool,
        validation: FieldValidation,
        manager: managed.Manager,
    ) -> web.Response:
        content_type = request.headers.get("Content-Type", "")
        body = await request.read()
        subresource = info.subresource or None
        media = content_type.split(";", 1)[0].strip().lower()
        if media in (patching.APPLY, patching.APPLY_CBOR):
            return self._server_side_apply(
                request, rtype, namespace, info, body, dry_run, validation
            )
        mutate = patching.mutation(content_type, body, rtype.patch_meta)
        result = self.storage.patch(
            rtype,
            namespace,
            info.name,
            mutate,
            dry_run=dry_run,
            field_validation=validation,
            subresource=subresource,
            manager=manager,
        )
        return self._write_response(request, rtype, result, 200)

    def _server_side_apply(
        self,
        request: web.BaseRequest,
        rtype: ResourceType,
        namespace: str,
        info: routing.RequestInfo,
        body: bytes,
        dry_run: bool,
        validation: FieldValidation,
    ) -> web.Response:
        if request.headers.get("Content-Type", "").startswith(patching.APPLY_CBOR):
            raise errors.unsupported_media_type(
                patching.accepted_types(rtype.patch_meta is not None)
            )
        name = request.query.get("fieldManager")
        if not name:
            raise errors.invalid_object(
                "PatchOptions",
                "meta.k8s.io",
                "",
                [errors.required("fieldManager", "is required for apply patch")],
            )
        force = (request.query.get("force") or "").lower() == "true"
        applied = patching.parse_apply(body)
        meta = applied.get("metadata") or {}
        if meta.get("name") and meta["name"] != info.name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({info.name})"
            )
        fields = managed.applied_fields(rtype.body, applied)
        manager = managed.Manager(name, "Apply", frozenset(fields))
        current = self.storage.find(rtype, namespace, info.name)
        live = current.copy() if current is not None else None
        removed = managed.check_apply(rtype.body, live, fields, name, force)
        if current is None:
            obj = json.loads(json.dumps(applied))
            obj.setdefault("metadata", {})["name"] = info.name
            result = self.storage.create(
                rtype,
                obj,
                namespace=namespace or None,
                dry_run=dry_run,
                field_validation=validation,
                manager=manager,
            )
            return self._write_response(request, rtype, result, 201)
        mutate = patching.apply_configuration(applied, removed, rtype.patch_meta)
        result = self.storage.patch(
            rtype,
            namespace,
            info.name,
            mutate,
            dry_run=dry_run,
            field_validation=validation,
            subresource=info.subresource or None,
            manager=manager,
        )
        return self._write_response(request, rtype, result, 200)

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

    async def _delete(
        self,
        request: web.BaseRequest,
        rtype: ResourceType,
        namespace: str,
        name: str,
        dry_run: bool,
    ) -> web.Response:
        options = await wire.read_delete_options(request)
        preconditions = options.get("preconditions") or {}
        dry_run = dry_run or wire.dry_run(options.get("dryRun") or [], "DeleteOptions")
        result = self.storage.delete(
            rtype,
            namespace,
            name,
            uid=preconditions.get("uid"),
            resource_version=preconditions.get("resourceVersion"),
            dry_run=dry_run,
        )
        if result.deleted and rtype.plural != "namespaces":
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    **({"group": rtype.group} if rtype.group else {}),
                    "kind": rtype.plural,
                    "uid": result.entry.uid,
                },
            }
            return wire.raw_json(dumps(status))
        return self._object_response(request, rtype, result.entry)

    async def _delete_collection(
        self, request: web.BaseRequest, rtype: ResourceType, namespace: str
    ) -> web.Response:
        query = request.query
        options = await wire.read_delete_options(request)
        label_selector, field_selector = wire.parse_selectors(query, rtype)
        dry_run = wire.dry_run(query.getall("dryRun", []), "DeleteOptions") or wire.dry_run(
            options.get("dryRun") or [], "DeleteOptions"
        )
        entries = self.storage.delete_collection(
            rtype,
            namespace=namespace or None,
            label_selector=label_selector,
            field_selector=field_selector,
            dry_run=dry_run,
        )
        return wire.raw_json(wire.list_body(rtype, ListResult(entries, self.storage.rv)))

    # --- watch control ------------------------------------------------------------------------

    def stall_watches(self, plural: str | None = None, token: str | None = None) -> int:
        """Silence open watch streams of one resource (or all), optionally only those that
        carried bearer ``token``; returns how many."""
        stalled = 0
        for active in list(self.watches):
            if plural is not None and active.watcher.rtype.plural != plural:
                continue
            if token is not None and active.request.headers.get("Authorization") != (
                f"Bearer {token}"
            ):
                continue
            active.watcher.stall()
            stalled += 1
        return stalled

    def close_watches(self, plural: str | None = None, *, graceful: bool = False) -> int:
        """Close open watch streams of one resource (or all); returns how many."""
        closed = 0
        for active in list(self.watches):
            if plural is not None and active.watcher.rtype.plural != plural:
                continue
            active.watcher.close("end" if graceful else "drop")
            if not graceful and active.request.transport is not None:
                active.request.transport.abort()
            closed += 1
        return closed
