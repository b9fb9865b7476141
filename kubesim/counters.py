"""Request counters per (verb, resource), and per response code.

Benchmarks and tests assert on API traffic ("the controller did not relist after a dropped
watch", "no write happened for an unchanged policy"), so every resource request that reaches
kubesim is counted once, whatever its outcome, using the Kubernetes verb
(``get``/``list``/``watch``/``create``/``update``/``patch``/``delete``/``deletecollection``)
and the resource plural (``networkpolicies``, or ``deployments/status`` for subresources).
"""

from __future__ import annotations

from collections import Counter


class Counters:
    """``api.counters``: ``api.counters["list", "networkpolicies"]`` reads one count."""

    def __init__(self) -> None:
        self._requests: Counter[tuple[str, str]] = Counter()
        self._responses: Counter[tuple[str, str, int]] = Counter()

    def record(self, verb: str, resource: str) -> None:
        """Count one request."""
        self._requests[(verb, resource)] += 1

    def record_response(self, verb: str, resource: str, code: int) -> None:
        """Count one response status code."""
        self._responses[(verb, resource, code)] += 1

    def __getitem__(self, key: tuple[str, str]) -> int:
        return self._requests[key]

    def get(self, verb: str | None = None, resource: str | None = None) -> int:
        """Requests matching a verb and/or resource (``None`` means any)."""
        return sum(
            n
            for (v, r), n in self._requests.items()
            if (verb is None or v == verb) and (resource is None or r == resource)
        )

    def total(self) -> int:
        """All counted requests."""
        return sum(self._requests.values())

    def snapshot(self) -> dict[tuple[str, str], int]:
        """A copy of all request counts, for diffing before/after an action."""
        return dict(self._requests)

    def responses(self) -> dict[tuple[str, str, int], int]:
        """A copy of the counts by (verb, resource, HTTP status)."""
        return dict(self._responses)

    def reset(self) -> None:
        """Start counting from zero."""
        self._requests.clear()
        self._responses.clear()

    def __repr__(self) -> str:
        items = ", ".join(f"{v} {r}: {n}" for (v, r), n in sorted(self._requests.items()))
        return f"Counters({items})"
