"""Kubernetes ``Status`` errors and per-field validation errors.

Every failure kubesim reports travels as an :class:`ApiError`, whether it comes from storage,
validation, RBAC or fault injection, so the HTTP layer has exactly one way to turn a failure
into a response: ``status`` code, a ``meta.k8s.io/v1 Status`` body and optional headers.
Messages follow the wording of the upstream API server because clients (kubectl, client-go,
kubernetes-asyncio) show them verbatim and tests may match on them.

:class:`FieldError` mirrors ``k8s.io/apimachinery/pkg/util/validation/field.Error``: the
``422 Invalid`` body lists one ``cause`` per field error, and its message joins them the same
way the real server does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

JsonObject = dict[str, Any]

FieldErrorType = Literal[
    "FieldValueNotFound",
    "FieldValueRequired",
    "FieldValueDuplicate",
    "FieldValueInvalid",
    "FieldValueNotSupported",
    "FieldValueForbidden",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "InternalError",
    "FieldValueTypeInvalid",
]

# The human wording Go prints for each error type (field.ErrorType.String()).
_TYPE_WORDS: dict[str, str] = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}

# Types whose message never shows the offending value (Go omits it for these).
_VALUELESS = frozenset(
    {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}
)


def go_repr(value: Any) -> str:
    """Render a bad value roughly the way Go's ``%v``/``%q``/``%#v`` would.

    Only the shapes kubesim's validators produce need to look right: strings are quoted,
    numbers and booleans bare, ``None`` is ``null`` and lists of strings read like Go slices.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(go_repr(v) for v in value) + "}"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{go_repr(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    return repr(value)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field, as ``field.Error`` upstream: type, JSON path, bad value, detail."""

    type: FieldErrorType
    field: str
    value: Any = None
    detail: str = ""

    def body(self) -> str:
        """The message without the field path (what a Status ``cause.message`` carries)."""
        words = _TYPE_WORDS[self.type]
        text = words if self.type in _VALUELESS else f"{words}: {go_repr(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> JsonObject:
        """The ``details.causes[]`` entry of a 422 Status."""
        return {"reason": self.type, "message": self.body(), "field": self.field}


def invalid(path: str, value: Any, detail: str) -> FieldError:
    """``field.Invalid``: the value is syntactically or semantically wrong."""
    return FieldError("FieldValueInvalid", path, value, detail)


def required(path: str, detail: str = "") -> FieldError:
    """``field.Required``: a value must be given."""
    return FieldError("FieldValueRequired", path, None, detail)


def forbidden(path: str, detail: str) -> FieldError:
    """``field.Forbidden``: the field may not be set in this situation."""
    return FieldError("FieldValueForbidden", path, None, detail)


def not_supported(path: str, value: Any, supported: Sequence[str]) -> FieldError:
    """``field.NotSupported``: the value is not one of an enumerated set."""
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError("FieldValueNotSupported", path, value, detail)


def too_long(path: str, limit: int) -> FieldError:
    """``field.TooLong`` with a byte limit (used for the total annotation size)."""
    unit = "byte" if limit == 1 else "bytes"
    return FieldError("FieldValueTooLong", path, None, f"may not be more than {limit} {unit}")


def duplicate(path: str, value: Any) -> FieldError:
    """``field.Duplicate``: the value appears twice where it must be unique."""
    return FieldError("FieldValueDuplicate", path, value)


class GroupResource(NamedTuple):
    """A resource qualified by its API group, printed like ``networkpolicies.networking.k8s.io``."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


# Status reasons for plain HTTP codes, used when a fault or a generic failure only knows the code.
_REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass(eq=False)
class ApiError(Exception):
    """A failed API request: HTTP status code plus the ``Status`` body the server returns.

    Raised anywhere below the HTTP layer (including the direct ``api.store`` access, so tests
    can assert on ``exc.code``/``exc.reason`` without HTTP) and rendered by :meth:`status`.
    """

    code: int
    reason: str
    message: str
    details: JsonObject | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    def status(self) -> JsonObject:
        """The ``Status`` object, with keys in the order the real server writes them."""
        body: JsonObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def body(self) -> bytes:
        """The serialized Status body."""
        return json.dumps(self.status(), separators=(",", ":")).encode()

    @property
    def causes(self) -> list[JsonObject]:
        """``details.causes`` (empty when there are none), convenient in assertions."""
        return list((self.details or {}).get("causes", []))


def _details(gr: GroupResource, name: str, **extra: Any) -> JsonObject:
    details: JsonObject = {}
    if name:
        details["name"] = name
    if gr.group:
        details["group"] = gr.group
    details["kind"] = gr.resource  # upstream puts the resource (not the kind) here
    details.update(extra)
    return details


def not_found(gr: GroupResource, name: str) -> ApiError:
    """404 for a missing object (``<resource>.<group> "<name>" not found``)."""
    return ApiError(404, "NotFound", f'{gr} "{name}" not found', _details(gr, name))


def path_not_found() -> ApiError:
    """404 for a URL that names no known resource."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(gr: GroupResource, name: str) -> ApiError:
    """409 when creating an object whose name is taken."""
    return ApiError(409, "AlreadyExists", f'{gr} "{name}" already exists', _details(gr, name))


OPTIMISTIC_LOCK_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def conflict(gr: GroupResource, name: str, why: str = OPTIMISTIC_LOCK_MESSAGE) -> ApiError:
    """409 for a stale resourceVersion or a failed precondition."""
    message = f'Operation cannot be fulfilled on {gr} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(gr, name))


def precondition_failed(kind: str, group: str, name: str, why: str) -> ApiError:
    """409 for a DELETE precondition, which upstream words with the kind, not the resource."""
    qualified = f"{kind}.{group}" if group else kind
    details: JsonObject = {"name": name, **({"group": group} if group else {}), "kind": kind}
    message = f'Operation cannot be fulfilled on {qualified} "{name}": {why}'
    return ApiError(409, "Conflict", message, details)


def invalid_object(kind: str, group: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    """422 with one cause per field error, worded like ``apierrors.NewInvalid``."""
    qualified = f"{kind}.{group}" if group else kind
    joined = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(map(str, errors)) + "]"
    details: JsonObject = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [e.cause() for e in errors]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {joined}', details)


def forbidden_request(gr: GroupResource, name: str, why: str) -> ApiError:
    """403 (RBAC denial, terminating namespace) worded like ``apierrors.NewForbidden``."""
    subject = f'{gr} "{name}"' if name else str(gr)
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", _details(gr, name))


def unauthorized() -> ApiError:
    """401 for a missing or unknown bearer token when RBAC is on."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def bad_request(message: str) -> ApiError:
    """400 for malformed requests (bad JSON, bad selector, name mismatch, ...)."""
    return ApiError(400, "BadRequest", message)


def method_not_allowed(verb: str, gr: GroupResource) -> ApiError:
    """405 when a resource does not support a verb."""
    message = f"{verb} is not supported on resources of kind {gr}"
    return ApiError(405, "MethodNotAllowed", message, _details(gr, ""))


def unsupported_media_type(accepted: Iterable[str]) -> ApiError:
    """415 for a request body (usually a patch) in a format the resource does not accept."""
    message = (
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted)
    )
    return ApiError(415, "UnsupportedMediaType", message)


def not_acceptable(accepted: Iterable[str]) -> ApiError:
    """406 when the client accepts none of the response formats kubesim can produce."""
    message = "406: Not Acceptable\n\nAvailable representations: " + ", ".join(accepted)
    return ApiError(406, "NotAcceptable", message, {})


def expired(message: str) -> ApiError:
    """410 ``Expired``: a resourceVersion or continue token older than the kept history."""
    return ApiError(410, "Expired", message)


def too_large_resource_version(requested: int, current: int) -> ApiError:
    """504 for a resourceVersion from the future, as the watch cache reports it."""
    details = {
        "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
        "retryAfterSeconds": 1,
    }
    message = f"Too large resource version: {requested}, current: {current}"
    return ApiError(504, "Timeout", message, details)


def request_entity_too_large(limit: int) -> ApiError:
    """413 for a request body over the server's limit, worded like
    ``apierrors.NewRequestEntityTooLargeError`` (kube-apiserver's ``limitedReadBody``)."""
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def internal(message: str) -> ApiError:
    """500 ``InternalError`` worded like ``apierrors.NewInternalError``."""
    details = {"causes": [{"message": message}]}
    return ApiError(500, "InternalError", f"Internal error occurred: {message}", details)


def from_code(code: int, message: str | None = None, retry_after: int | None = None) -> ApiError:
    """An error for an arbitrary status code, as fault injection produces them.

    ``retry_after`` adds both the ``Retry-After`` header and ``details.retryAfterSeconds``,
    which is how the real server signals back-off on 429 and some 5xx responses.
    """
    reason = _REASONS.get(code, "InternalError" if code >= 500 else "BadRequest")
    if message is None:
        message = {
            429: "Too many requests, please try again later.",
            500: "Internal error occurred: injected fault",
            503: "The server is currently unable to handle the request",
            504: "The server was unable to return a response in the time allotted",
        }.get(code, f"injected fault ({code})")
    details: JsonObject | None = None
    headers: dict[str, str] = {}
    if retry_after is not None:
        details = {"retryAfterSeconds": retry_after}
        headers["Retry-After"] = str(retry_after)
    return ApiError(code, reason, message, details, headers)
