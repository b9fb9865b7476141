"""The bytes on the wire: request bodies and parameters in, JSON responses out.

Helpers shared by the request handlers: decoding bodies (JSON, YAML, kubectl's protobuf),
reading query parameters the way the API server validates them, content negotiation, and
building responses from pre-serialized bytes (a LIST is the stored items joined, never
re-encoded).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from kubesim import errors, protobuf, selectors
from kubesim.listing import ListResult
from kubesim.resources import ResourceType
from kubesim.storage import FieldValidation
from kubesim.versions import dumps

JsonObject = dict[str, Any]
JSON = "application/json"


def raw_json(
    body: bytes,
    content_type: str = JSON,
    status: int = 200,
    headers: Any = None,
    warnings: list[str] | None = None,
) -> web.Response:
    """A response with pre-serialized JSON bytes (and ``Warning: 299`` headers if any)."""
    response = web.Response(body=body, status=status, headers=headers)
    response.headers["Content-Type"] = content_type
    for text in warnings or ():
        response.headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
    return response


def error_response(error: errors.ApiError) -> web.Response:
    """The Status response of an :class:`~kubesim.errors.ApiError`."""
    return raw_json(error.body(), JSON, error.code, dict(error.headers))


def list_body(rtype: ResourceType, result: ListResult) -> bytes:
    """A ``<Kind>List`` built from stored bytes without re-encoding any item."""
    meta: JsonObject = {"resourceVersion": str(result.rv)}
    if result.continue_token:
        meta["continue"] = result.continue_token
    if result.remaining is not None:
        meta["remainingItemCount"] = result.remaining
    head = (
        b'{"kind":"'
        + rtype.list_kind.encode()
        + b'","apiVersion":"'
        + rtype.api_version.encode()
        + b'","metadata":'
        + dumps(meta)
        + b',"items":['
    )
    return head + b",".join(e.raw for e in result.entries) + b"]}"


def wants_aggregated(accept: str) -> bool:
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if "as=APIGroupDiscoveryList" in params and "v=v2" in params:
            return True
    return False


def check_acceptable(request: web.BaseRequest) -> None:
    accept = request.headers.get("Accept", "")
    if not accept:
        return
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in {"application/json", "*/*", "application/*", ""}:
            return
    raise errors.not_acceptable([JSON, "application/yaml"])


def parse_selectors(
    query: Any, rtype: ResourceType
) -> tuple[selectors.LabelSelector, selectors.FieldSelector]:
    label_selector = selectors.parse_label_selector(query.get("labelSelector"))
    field_selector = selectors.parse_field_selector(query.get("fieldSelector"))
    selectors.check_fields(field_selector, rtype.selectable_fields)
    return label_selector, field_selector


def int_param(value: str | None, name: str) -> int:
    if value is None or value == "":
        return 0
    try:
        number = int(value)
    except ValueError:
        raise errors.bad_request(f'invalid value for {name}: "{value}"') from None
    if number < 0:
        raise errors.bad_request(f"{name}: must be greater than or equal to 0")
    return number


def dry_run(values: list[str]) -> bool:
    for value in values:
        if value != "All":
            raise errors.ApiError(
                400, "BadRequest", f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
    return bool(values)


def field_validation(value: str | None) -> FieldValidation:
    if value in (None, "", "Warn"):
        return "Warn"
    if value == "Strict":
        return "Strict"
    if value == "Ignore":
        return "Ignore"
    raise errors.bad_request(
        f"fieldValidation: Unsupported value: {json.dumps(value)}: supported values: "
        '"Ignore", "Warn", "Strict"'
    )


async def read_object(request: web.BaseRequest) -> JsonObject:
    body = await request.read()
    media = (request.headers.get("Content-Type") or JSON).split(";", 1)[0].strip().lower()
    try:
        if media == protobuf.MEDIA_TYPE:
            data = protobuf.decode_object(body)
        elif media in {"application/yaml", "application/x-yaml", "text/yaml"}:
            data = yaml.safe_load(body)
        elif media in {JSON, "*/*", ""}:
            data = json.loads(body)
        else:
            raise errors.unsupported_media_type([JSON, "application/yaml"])
    except (ValueError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return data


async def read_delete_options(request: web.BaseRequest) -> JsonObject:
    body = await request.read()
    options: JsonObject = {}
    media = (request.headers.get("Content-Type") or JSON).split(";", 1)[0].strip().lower()
    if media == protobuf.MEDIA_TYPE and body:
        options = protobuf.decode_object(body)
    elif body.strip():
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise errors.bad_request(f"error decoding DeleteOptions: {exc}") from exc
        if isinstance(parsed, dict):
            options = parsed
    query = request.query
    for key in ("propagationPolicy", "gracePeriodSeconds"):
        if key in query:
            options.setdefault(key, query[key])
    if "dryRun" in query:
        options.setdefault("dryRun", query.getall("dryRun"))
    return options
