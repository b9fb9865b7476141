"""Typed errors of the controller: API failures mapped from HTTP statuses, and sync refusals.

The worker loop decides retries from the error type alone (STYLE point 5): a
:class:`TemporaryError` is retried with backoff (honouring ``retry_after``), a
:class:`PermanentError` is given up for this object version with a Warning event and a metric.
Every API error is raised ``from`` the transport error or carries the server's ``Status`` body, so
logs keep the original cause.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class SyncerError(Exception):
    """Base of every error this package raises on purpose."""


class TemporaryError(SyncerError):
    """Worth retrying: the same request may succeed later."""

    retry_after: float | None = None


class PermanentError(SyncerError):
    """Retrying the same object version cannot help; it needs a change or an operator.

    ``reason`` is the short CamelCase reason used for the Warning event and the
    ``errors_total{reason}`` metric.
    """

    reason = "SyncError"


class ApiError(SyncerError):
    """A Kubernetes API request failed with an HTTP status (or no status at all).

    ``status`` is the HTTP status code (0 when the server could not be reached); ``reason`` is
    the ``Status.reason`` from the body (``Conflict``, ``AlreadyExists``, ``Invalid`` ...).
    """

    def __init__(
        self,
        status: int,
        *,
        reason: str = "",
        message: str = "",
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.details: Mapping[str, Any] = details or {}
        super().__init__(f"{status} {reason}: {message}" if reason else f"{status}: {message}")


class Unreachable(ApiError, TemporaryError):
    """No HTTP answer: connection refused or reset, DNS, TLS, timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(0, reason="Unreachable", message=message)


class BadRequest(ApiError):
    """400: the request itself is malformed."""


class Unauthorized(ApiError, TemporaryError):
    """401: credentials missing or expired (a rotated token may fix it)."""


class Forbidden(ApiError):
    """403: RBAC denies the request; needs an operator."""


class NotFound(ApiError):
    """404: the object (or its namespace) does not exist."""


class Conflict(ApiError, TemporaryError):
    """409 Conflict: the cached resourceVersion is stale; requeue and read the cache again."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: a create found an object with the same name."""


class Gone(ApiError):
    """410: the watch resourceVersion is too old; the informer must list again."""


class RequestEntityTooLarge(ApiError):
    """413: the request body is over the server's limit (3 MiB on kube-apiserver). Permanent:
    the same object is just as large next time; it needs a smaller policy."""


class Invalid(ApiError):
    """422: the server rejected the object (validation)."""

    def causes(self) -> list[str]:
        """``field: message`` for every cause the server listed."""
        return [
            f"{c.get('field', '')}: {c.get('message', '')}".strip(": ")
            for c in self.details.get("causes", [])
            if isinstance(c, Mapping)
        ]


class TooManyRequests(ApiError, TemporaryError):
    """429: throttled; ``retry_after`` says how long the server asked us to wait."""


class ServerError(ApiError, TemporaryError):
    """5xx: the server failed; retry with backoff."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: RequestEntityTooLarge,
    422: Invalid,
    429: TooManyRequests,
}


def from_response(status: int, body: bytes | str, headers: Mapping[str, str]) -> ApiError:
    """Build the typed error for a non-2xx response, reading the ``Status`` body if present."""
    status_body: Mapping[str, Any] = {}
    try:
        parsed = json.loads(body or b"{}")
        if isinstance(parsed, Mapping):
            status_body = parsed
    except ValueError:
        status_body = {
            "message": body.decode(errors="replace") if isinstance(body, bytes) else body
        }
    reason = str(status_body.get("reason", ""))
    message = str(status_body.get("message", ""))
    details = status_body.get("details")
    retry_after = _retry_after(headers, details)
    if status == 409 and reason == "AlreadyExists":
        cls: type[ApiError] = AlreadyExists
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, ApiError)
    return cls(
        status,
        reason=reason,
        message=message,
        retry_after=retry_after,
        details=details if isinstance(details, Mapping) else None,
    )


def _retry_after(headers: Mapping[str, str], details: object) -> float | None:
    value = headers.get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    if isinstance(details, Mapping) and isinstance(details.get("retryAfterSeconds"), int | float):
        return float(details["retryAfterSeconds"])
    return None


class NotLeader(TemporaryError):
    """This replica lost (or never had) the lease; the write waits for leadership."""


class VirtualCacheBehind(TemporaryError):
    """A host copy looks orphaned in the cache, but the virtual API could not confirm that its
    object is gone: the copy is kept and the key retried once the cache has caught up."""


class PatchFailed(PermanentError):
    """A configured patch failed on, or was refused for, one object."""

    reason = "PatchFailed"


class HostRejected(PermanentError):
    """The host API server refused the translated object (4xx other than conflicts)."""

    reason = "HostRejected"


class HostNameCollision(PermanentError):
    """Another object already owns the host name this virtual object translates to."""

    reason = "HostNameCollision"


class Denied(PermanentError):
    """RBAC on one of the clusters forbids a request this syncer needs."""

    reason = "Forbidden"


class HostPeerRefused(PermanentError):
    """A tenant references a host peer the admin did not approve (SPEC §9 ``hostPeers``)."""

    reason = "HostPeerRefused"
