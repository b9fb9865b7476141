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

from kubesim import errors, protobuf, selectors, tables
from kubesim.listing import ListResult
from kubesim.objects import WriteResult
from kubesim.resources import ResourceType
from kubesim.storage import FieldValidation
from kubesim.versions import Entry, dumps

JsonObject = dict[str, Any]
JSON = "application/json"
YAML = "application/yaml"


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
    """A ``<Kind>List`` built from stored bytes without re-encoding any item.

    Items carry no ``kind``/``apiVersion``, as upstream's lists: the stored bytes start with
    exactly those two keys, so they are cut off rather than re-encoded."""
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
    prefix = (
        b'{"kind":"'
        + rtype.kind.encode()
        + b'","apiVersion":"'
        + rtype.api_version.encode()
        + b'",'
    )
    cut = len(prefix)
    entries = result.entries
    if not entries:
        return head + b"]}"
    if all(e.raw.startswith(prefix) for e in entries):
        # Views, not copies: each item is its stored bytes after the prefix, re-opened by "{".
        return head + b"{" + b",{".join(memoryview(e.raw)[cut:] for e in entries) + b"]}"
    items = [b"{" + e.raw[cut:] if e.raw.startswith(prefix) else e.raw for e in entries]
    return head + b",".join(items) + b"]}"


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
        if media in {"application/json", "*/*", "application/*", "", YAML}:
            return
    raise errors.not_acceptable([JSON, YAML])


def wants_yaml(accept: str) -> bool:
    """Whether the first media type of ``Accept`` kubesim can serve is YAML."""
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in {"application/json", "*/*", "application/*"}:
            return False
        if media == YAML:
            return True
    return False


def as_yaml(response: web.Response) -> web.Response:
    """The same JSON response re-encoded as YAML (keys in the order the JSON had them)."""
    assert isinstance(response.body, bytes)
    data = json.loads(response.body)
    response.body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
    response.headers["Content-Type"] = YAML
    return response


def parse_selectors(
    query: Any, rtype: ResourceType
) -> tuple[selectors.LabelSelector, selectors.FieldSelector]:
    label_selector = selectors.parse_label_selector(query.get("labelSelector"))
    field_selector = selectors.parse_field_selector(query.get("fieldSelector"))
    selectors.check_fields(field_selector, rtype.selectable_fields, core=not rtype.group)
    return label_selector, field_selector


def int_param(value: str | None, name: str) -> int:
    """An integer query parameter; garbage is 400 with Go's parse error, negatives count as 0
    (upstream accepts ``limit=-1`` and means no limit)."""
    if value is None or value == "":
        return 0
    try:
        number = int(value)
    except ValueError:
        raise errors.bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None
    return max(number, 0)


class _GoSlice:
    """A list value rendered as upstream renders ``[]string`` in option errors."""

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def __repr__(self) -> str:
        return json.dumps(self.values)


def dry_run(values: list[str], options: str = "CreateOptions") -> bool:
    """``dryRun``: only ``All``; anything else is 422 on the verb's options kind."""
    if any(value != "All" for value in values):
        raise errors.invalid_object(
            options,
            "meta.k8s.io",
            "",
            [errors.not_supported("dryRun", _GoSlice(values), ["All"])],
        )
    return bool(values)


def field_validation(value: str | None, options: str = "CreateOptions") -> FieldValidation:
    """``fieldValidation``: Strict, Warn (the default) or Ignore; else 422."""
    if value in (None, "", "Warn"):
        return "Warn"
    if value == "Strict":
        return "Strict"
    if value == "Ignore":
        return "Ignore"
    raise errors.invalid_object(
        options,
        "meta.k8s.io",
        "",
        [errors.not_supported("fieldValidation", value, ["", "Ignore", "Strict", "Warn"])],
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


def object_response(
    request: web.BaseRequest,
    rtype: ResourceType,
    entry: Entry,
    status: int = 200,
    warnings: list[str] | None = None,
) -> web.Response:
    """One object as JSON, or as a kubectl ``Table`` when asked for one."""
    if tables.wants_table(request.headers.get("Accept", "")):
        body = tables.table(
            [entry], rtype, str(entry.rv), include=request.query.get("includeObject")
        )
        return raw_json(body, tables.TABLE_CONTENT_TYPE, status, warnings=warnings)
    check_acceptable(request)
    return raw_json(entry.raw, JSON, status, warnings=warnings)


def write_response(
    request: web.BaseRequest, rtype: ResourceType, result: WriteResult, status: int
) -> web.Response:
    """The answer to a write: the resulting object with its ``Warning`` headers."""
    return object_response(request, rtype, result.entry, status, result.warnings)
