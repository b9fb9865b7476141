"""Typed errors of the controller: API failures mapped from HTTP statuses, and sync refusals.

The worker loop decides retries from the error type alone (STYLE point 5): a
:class:`TemporaryError` is retried with backoff (honouring ``retry_after``), a
:class:`PermanentError` is given up for this object version with a Warning event and a metric.
Every API error is raised ``from`` the transport error or carries the server's ``Status`` body, so
logs keep the original cause.

A permanent failure is reported three ways: its metric label (``errors_total{reason}``), the
reason of the tenant's Warning event, and its error class. :data:`REFUSALS` (one row per refusal
code of the host-copy stage, :mod:`guardrails.refusals`) and :data:`FAILURES` (the failures of
the write itself) are the one place these are set; the metric's label set
(:data:`ERROR_REASONS`), the event reasons and the docs' table are derived from, or checked
against, them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from guardrails import refusals

EventReason = Literal["SyncError", "HostNameCollision"]
"""Reasons of the Warning events on virtual policies (SPEC §6)."""


class SyncerError(Exception):
    """Base of every error this package raises on purpose."""


class TemporaryError(SyncerError):
    """Worth retrying: the same request may succeed later."""

    retry_after: float | None = None


class PermanentError(SyncerError):
    """Retrying the same object version cannot help; it needs a change or an operator.

    ``reason`` is the ``errors_total{reason}`` label and ``event`` the reason of the Warning
    event; each subclass's pair is a row of :data:`REFUSALS` or :data:`FAILURES`.
    """

    reason = "SyncError"
    event: EventReason = "SyncError"


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
    event: EventReason = "HostNameCollision"


class Denied(PermanentError):
    """RBAC on one of the clusters forbids a request this syncer needs."""

    reason = "Forbidden"


class HostPeerRefused(PermanentError):
    """A tenant references a host peer the admin did not approve (SPEC §9 ``hostPeers``)."""

    reason = "HostPeerRefused"


class OutOfScope(PermanentError):
    """The host copy breaks the scoping invariants with no patch to blame (never written)."""

    reason = "OutOfScope"


@dataclass(frozen=True, slots=True)
class Reporting:
    """How one kind of permanent failure is reported."""

    error: type[PermanentError]
    label: str
    """``errors_total{reason}``; dashboards and alerts select on it, so it is kept stable (the
    three patch refusals share ``PatchFailed``, as before they had codes of their own)."""
    event: EventReason


REFUSALS: Final[Mapping[refusals.Kind, Reporting]] = MappingProxyType(
    {
        "PatchFailed": Reporting(PatchFailed, "PatchFailed", "SyncError"),
        "PatchOutOfScope": Reporting(PatchFailed, "PatchFailed", "SyncError"),
        "PatchWidens": Reporting(PatchFailed, "PatchFailed", "SyncError"),
        "HostPeerRefused": Reporting(HostPeerRefused, "HostPeerRefused", "SyncError"),
        "OutOfScope": Reporting(OutOfScope, "OutOfScope", "SyncError"),
    }
)
"""Refusal code of the host-copy stage -> error class, metric label, event reason."""

FAILURES: Final[tuple[Reporting, ...]] = (
    Reporting(HostRejected, "HostRejected", "SyncError"),
    Reporting(HostNameCollision, "HostNameCollision", "HostNameCollision"),
    Reporting(Denied, "Forbidden", "SyncError"),
)
"""Permanent failures of the host write itself (not decided by the stage)."""

UNEXPECTED: Final = Reporting(PermanentError, "ApiError", "SyncError")
"""An API error with no class of its own, retries exhausted, or a crash of the reconcile."""

COUNTED_ONLY: Final[tuple[str, ...]] = ("IsolationFallback",)
"""Labels counted without an error or an event: ``isolation: managed`` falling back to one
baseline for a whole namespace (:mod:`syncer.pipeline.isolating`) is the admin's to see, not a
failure of a tenant policy."""

ERROR_REASONS: Final[tuple[str, ...]] = tuple(
    dict.fromkeys([*(r.label for r in (*REFUSALS.values(), *FAILURES, UNEXPECTED)), *COUNTED_ONLY])
)
"""Every ``errors_total{reason}`` label, in table order."""

_EVENTS: Final[Mapping[str, EventReason]] = MappingProxyType(
    {r.label: r.event for r in (*REFUSALS.values(), *FAILURES, UNEXPECTED)}
)


def event_reason(label: str) -> EventReason:
    """The Warning event reason for a failure counted under ``label``."""
    return _EVENTS.get(label, "SyncError")


def refused(refusal: refusals.Refusal) -> PermanentError:
    """The error the worker loop gives up on for ``refusal``, reported as its row says."""
    row = REFUSALS[refusal.code]
    error = row.error(refusal.message)
    error.reason = row.label
    error.event = row.event
    return error
