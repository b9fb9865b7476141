"""Fault injection: make matching requests fail or slow down, drop watches, compact history.

Tests of a controller's resilience need the API server to misbehave on cue and then recover.
Each injected fault is a :class:`Fault` handle matched against the parsed request
(``verb``/``resource``/``namespace``/``name``; ``None`` matches anything) that can be limited
to ``count`` hits and removed again (also as a context manager)::

    with api.faults.fail(verb="update", resource="networkpolicies", status=409, count=1):
        ...
    api.faults.fail(verb="list", status=429, retry_after=2)  # Retry-After header included
    api.faults.stall_watches("networkpolicies")  # open, silent streams (a half-open connection)

Faults are checked after authentication and authorization, in registration order; all
matching delays add up, and the first matching failure answers the request.

A fault with ``probability`` below 1 applies to that share of the matching requests, drawn from
the registry's own seeded generator (:meth:`Faults.seed`), so a campaign is reproducible::

    api.faults.seed(7)
    api.faults.fail(verb=["create", "update"], resource="networkpolicies", probability=0.05)

``stall_watches(..., token=...)`` narrows a stall to the clients of one bearer token, e.g. one
of two replicas.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from kubesim import errors
from kubesim.routing import RequestInfo

Matcher = str | Iterable[str] | None
"""One value, several values, or ``None`` for "any"."""


def _normalize(value: Matcher) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


@dataclass(eq=False)
class Fault:
    """One injected fault; keep the handle to inspect ``hits`` or to :meth:`remove` it."""

    kind: Literal["fail", "delay"]
    verbs: frozenset[str] | None
    resources: frozenset[str] | None
    namespaces: frozenset[str] | None
    names: frozenset[str] | None
    status: int = 500
    retry_after: int | None = None
    message: str | None = None
    seconds: float = 0.0
    count: int | None = None
    """How many more requests it applies to (``None``: unlimited)."""
    probability: float = 1.0
    """Share of the matching requests it applies to (drawn from the registry's generator)."""
    hits: int = 0
    """How many requests it has affected so far."""
    _owner: Faults | None = field(default=None, repr=False)

    def matches(self, info: RequestInfo) -> bool:
        """Whether the fault applies to this request (ignoring its remaining count)."""
        if self.verbs is not None and info.verb not in self.verbs:
            return False
        if self.resources is not None and not (
            info.resource in self.resources or info.qualified_resource in self.resources
        ):
            return False
        if self.namespaces is not None and info.namespace not in self.namespaces:
            return False
        return self.names is None or info.name in self.names

    @property
    def exhausted(self) -> bool:
        """True when ``count`` hits have been used up."""
        return self.count is not None and self.count <= 0

    def error(self) -> errors.ApiError:
        """The error this fault answers with."""
        return errors.from_code(self.status, self.message, self.retry_after)

    def remove(self) -> None:
        """Stop injecting this fault (idempotent)."""
        if self._owner is not None:
            self._owner.remove(self)

    def __enter__(self) -> Fault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


@dataclass(slots=True)
class Verdict:
    """What the faults decided for one request."""

    delay: float = 0.0
    error: errors.ApiError | None = None


class Faults:
    """The fault registry of one :class:`~kubesim.server.KubeSim` (``api.faults``)."""

    def __init__(
        self,
        *,
        resolve: Callable[[str], str],
        drop_watches: Callable[[str | None, bool], int],
        compact: Callable[[str | None], None],
        stall_watches: Callable[[str | None, str | None], int] = lambda resource, token: 0,
    ) -> None:
        self._faults: list[Fault] = []
        self._resolve = resolve
        self._drop_watches = drop_watches
        self._stall_watches = stall_watches
        self._random = random.Random(0)
        self._compact = compact

    def seed(self, value: int) -> None:
        """Reseed the generator that decides which requests a partial fault hits."""
        self._random.seed(value)

    def _resources(self, resource: Matcher) -> frozenset[str] | None:
        values = _normalize(resource)
        return None if values is None else frozenset(self._resolve(v) for v in values)

    def fail(
        self,
        verb: Matcher = None,
        resource: Matcher = None,
        namespace: Matcher = None,
        name: Matcher = None,
        status: int = 500,
        count: int | None = None,
        retry_after: int | None = None,
        message: str | None = None,
        probability: float = 1.0,
    ) -> Fault:
        """Answer matching requests with ``status`` (a proper Status body; Retry-After if given).

        ``probability`` below 1 fails only that share of the matching requests.
        """
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {probability}")
        fault = Fault(
            "fail",
            _normalize(verb),
            self._resources(resource),
            _normalize(namespace),
            _normalize(name),
            status=status,
            retry_after=retry_after,
            message=message,
            count=count,
            probability=probability,
            _owner=self,
        )
        self._faults.append(fault)
        return fault

    def delay(
        self,
        seconds: float,
        verb: Matcher = None,
        resource: Matcher = None,
        namespace: Matcher = None,
        name: Matcher = None,
        count: int | None = None,
    ) -> Fault:
        """Hold matching requests for ``seconds`` before serving them."""
        fault = Fault(
            "delay",
            _normalize(verb),
            self._resources(resource),
            _normalize(namespace),
            _normalize(name),
            seconds=seconds,
            count=count,
            _owner=self,
        )
        self._faults.append(fault)
        return fault

    def drop_watches(self, resource: str | None = None, *, graceful: bool = False) -> int:
        """Close open watch streams (abruptly by default, like a network failure).

        ``graceful=True`` ends them the way a server-side timeout does (a clean end of the
        chunked response). Returns how many streams were closed.
        """
        return self._drop_watches(None if resource is None else self._resolve(resource), graceful)

    def stall_watches(self, resource: str | None = None, *, token: str | None = None) -> int:
        """Make open watch streams go silent, like a half-open connection: the stream stays
        open but delivers nothing more (no events, no bookmarks, no end at its timeout) until
        :meth:`drop_watches` closes it; the client then resumes from the last version it saw.
        Watches opened later are not affected. ``token`` limits it to requests that carried
        that bearer token. Returns how many streams were stalled."""
        return self._stall_watches(None if resource is None else self._resolve(resource), token)

    def compact(self, resource: str | None = None) -> None:
        """Drop the event history, so watching or paging from an older version gets 410."""
        self._compact(None if resource is None else self._resolve(resource))

    def remove(self, fault: Fault) -> None:
        """Remove one fault (idempotent)."""
        if fault in self._faults:
            self._faults.remove(fault)

    def clear(self) -> None:
        """Remove every injected failure and delay."""
        self._faults.clear()

    @property
    def active(self) -> list[Fault]:
        """The faults currently injected."""
        return list(self._faults)

    def check(self, info: RequestInfo) -> Verdict:
        """Consume matching faults for one request and return the combined verdict."""
        verdict = Verdict()
        if not self._faults:
            return verdict
        for fault in list(self._faults):
            if fault.exhausted or not fault.matches(info):
                continue
            if fault.kind == "fail" and verdict.error is not None:
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
            if fault.kind == "delay":
                verdict.delay += fault.seconds
            else:
                verdict.error = fault.error()
            if fault.exhausted:
                self.remove(fault)
        return verdict
