"""Polling with a deadline, statistics of runs, and the report's output."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

Json = dict[str, Any]


async def wait_for(
    condition: Callable[[], bool], *, within: float, what: str, interval: float = 0.02
) -> None:
    """Poll ``condition`` every ``interval`` seconds; TimeoutError after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def wait_for_async(
    condition: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Like :func:`wait_for` with an async condition."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def median(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(statistics.median(present), 6) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of raw samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def medians(runs: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, float | None]:
    return {key: median(run.get(key) for run in runs) for key in keys}


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def environment() -> Json:
    """The machine, and how busy it was when the report was made (other work skews wall time)."""
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "platform": sys.platform,
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def emit(report: Json, *, as_json: bool, summary: Iterable[str]) -> None:
    if as_json:
        print(json.dumps(report))
        return
    for line in summary:
        print(line)


def workdir() -> contextlib.AbstractContextManager[str]:
    return tempfile.TemporaryDirectory(prefix="netpol-bench-")
