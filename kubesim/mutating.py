"""PATCH (every patch type, server-side apply) and DELETE over HTTP.

These verbs read more than a body: the patch media type picks the mutation
(:mod:`kubesim.patching`), apply needs a field manager and may conflict with other managers
(:mod:`kubesim.managed`), and deletes take ``DeleteOptions`` (preconditions, ``dryRun``) from
the body or the query. The storage does the rest, so every path gets the same guarantees.
"""

from __future__ import annotations

import json

from aiohttp import web

from kubesim import errors, managed, patching, routing, wire
from kubesim.listing import ListResult
from kubesim.resources import ResourceType
from kubesim.storage import FieldValidation, Storage
from kubesim.versions import dumps


class Mutations:
    """The patch, apply and delete verbs of :class:`kubesim.handlers.Api`."""

    storage: Storage

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
        return wire.write_response(request, rtype, result, 200)

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
            return wire.write_response(request, rtype, result, 201)
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
        return wire.write_response(request, rtype, result, 200)

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
        return wire.object_response(request, rtype, result.entry)

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
