"""Readers of single flag values, and the writer of durations the help and README show.

Each parser takes the raw text of a flag or environment variable and returns the value or
raises :class:`ValueError` with a message that names no source (the caller prefixes the flag or
variable it came from), so one parser serves both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Final

from translate import naming

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


def parse_dns_label(raw: str) -> str:
    """A Kubernetes name that must be a DNS-1123 label (namespaces, vCluster names)."""
    if len(raw) > naming.MAX_NAME_LENGTH or not naming.DNS_LABEL.match(raw):
        raise ValueError(
            f"{raw!r} is not a DNS-1123 label (lowercase a-z, 0-9 and '-', at most 63 characters)"
        )
    return raw


def parse_dns_subdomain(raw: str) -> str:
    if len(raw) > 253 or not naming.DNS_SUBDOMAIN.match(raw):
        raise ValueError(f"{raw!r} is not a valid Kubernetes object name (DNS-1123 subdomain)")
    return raw


def parse_file(raw: str) -> str:
    """A path that must name an existing file now, not at the first API call."""
    if not raw:
        raise ValueError("is empty")
    if not Path(raw).is_file():
        raise ValueError(f"{raw!r}: no such file")
    return raw


def parse_path(raw: str) -> str:
    if not raw:
        raise ValueError("is empty")
    return raw


def parse_duration(raw: str) -> float:
    """Seconds from ``15s``, ``1m30s``, ``500ms``, ``2h`` or a plain number of seconds."""
    text = raw.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(
                f"{raw!r} is not a duration (use e.g. 15s, 1m30s, 500ms or seconds)"
            ) from None
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{raw!r} must be a finite, non-negative duration")
    return seconds


def parse_positive_duration(raw: str) -> float:
    seconds = parse_duration(raw)
    if seconds <= 0:
        raise ValueError(f"{raw!r} must be longer than zero")
    return seconds


def parse_positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{raw!r} must be at least 1")
    return value


def parse_positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{raw!r} must be a number greater than zero")
    return value


def parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not a boolean (use true or false)")


def parse_address(raw: str) -> str:
    """``[host]:port`` as the metrics server parses it (``:8080``, ``[::]:8080``, ...)."""
    # Imported here: the server pulls in aiohttp, which the offline commands never need.
    from syncer.runtime import serving

    serving.parse_address(raw)
    return raw


def choice(*allowed: str) -> Callable[[str], str]:
    """A parser accepting one of ``allowed``, in any letter case."""

    def parse(raw: str) -> str:
        lowered = raw.strip().lower()
        if lowered not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(allowed)}")
        return lowered

    return parse


def format_duration(seconds: float) -> str:
    """The shortest text :func:`parse_duration` reads back as ``seconds`` (``5m``, ``2.5s``)."""
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    if 0 < seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"
