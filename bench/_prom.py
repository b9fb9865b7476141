"""The syncer's Prometheus metrics as a benchmark reads them: samples, sums, histograms."""

from __future__ import annotations

import math
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return out


def metric(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def api_requests(samples: Samples) -> dict[str, int]:
    """``netpol_syncer_api_requests_total`` as ``{"cluster verb code": n}`` (non-zero only)."""
    out: dict[str, int] = {}
    for (name, labels), value in samples.items():
        if name == "netpol_syncer_api_requests_total" and value:
            ls = dict(labels)
            out[f"{ls['cluster']} {ls['verb']} {ls['code']}"] = int(value)
    return dict(sorted(out.items()))


def api_delta(before: Samples, after: Samples) -> dict[str, int]:
    b, a = api_requests(before), api_requests(after)
    return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}


def histogram(samples: Samples, name: str) -> list[tuple[float, float]]:
    """Cumulative ``(upper bound, count)`` buckets of a histogram, sorted."""
    out = [(float(dict(ls)["le"]), v) for (n, ls), v in samples.items() if n == name + "_bucket"]
    return sorted(out)


def histogram_delta(
    before: list[tuple[float, float]], after: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    old = dict(before)
    return [(le, count - old.get(le, 0.0)) for le, count in after]


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_bound
            width = count - lower_count
            fraction = (rank - lower_count) / width if width else 1.0
            return lower_bound + (le - lower_bound) * fraction
        lower_bound, lower_count = le, count
    return lower_bound
