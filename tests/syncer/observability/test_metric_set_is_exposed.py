"""The exposition carries every metric SPEC §7 names, with the right types and labels."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import parser
from prometheus_client.metrics_core import Metric

from syncer.runtime import metrics

# family name (as the parser reports it: counters without _total) -> (type, label names)
EXPECTED: dict[str, tuple[str, frozenset[str]]] = {
    "reconcile": ("counter", frozenset({"result"})),
    "reconcile_duration_seconds": ("histogram", frozenset()),
    "sync_latency_seconds": ("histogram", frozenset()),
    "queue_depth": ("gauge", frozenset()),
    "queue_adds": ("counter", frozenset()),
    "queue_retries": ("counter", frozenset()),
    "queue_wait_seconds": ("histogram", frozenset()),
    "watch_restarts": ("counter", frozenset({"cluster", "reason"})),
    "api_requests": ("counter", frozenset({"cluster", "verb", "code"})),
    "api_request_duration_seconds": ("histogram", frozenset({"cluster", "verb"})),
    "synced_policies": ("gauge", frozenset()),
    "host_policies": ("gauge", frozenset()),
    "virtual_policies": ("gauge", frozenset()),
    "drift_repairs": ("counter", frozenset({"kind"})),
    "errors": ("counter", frozenset({"reason"})),
    "events": ("counter", frozenset({"type", "reason"})),
    "leader": ("gauge", frozenset()),
    "leader_transitions": ("counter", frozenset()),
    "informer_synced": ("gauge", frozenset({"cluster"})),
    "build_info": ("gauge", frozenset({"version", "python"})),
    "task_failures": ("counter", frozenset({"task"})),
    "waiting": ("gauge", frozenset({"for"})),
}


def families(m: metrics.Metrics) -> dict[str, Metric]:
    """Parse the text exposition into families keyed by name without the prefix.

    prometheus-client's ``*_created`` companion gauges (creation timestamps) are left out.
    """
    payload, _ = m.render()
    parsed = parser.text_string_to_metric_families(payload.decode())
    return {
        f.name.removeprefix(metrics.PREFIX): f
        for f in parsed
        if f.name.startswith(metrics.PREFIX) and not f.name.endswith("_created")
    }


def exercised() -> metrics.Metrics:
    """A Metrics on which every method has been called once, so every family has samples."""
    m = metrics.Metrics(strict=True)
    m.observe_reconcile("created", 0.01)
    m.observe_sync_latency(0.02)
    m.depth(3)
    m.added()
    m.retried()
    m.waited(0.001)
    m.watch_restarted("virtual", "gone")
    m.observe_api("host", "create", 201, 0.003)
    m.track_policies(virtual=lambda: 2, host=lambda: 2, synced=lambda: 1)
    m.drift_repaired("reverted")
    m.sync_error("PatchFailed")
    m.event_emitted("Warning", "SyncError")
    m.set_leader(True)
    m.informer_synced("host")
    return m


def test_every_metric_exists_with_its_type_and_help() -> None:
    """A fresh instance exposes all twenty-two families, each typed and documented."""
    found = families(metrics.Metrics())
    assert set(found) == set(EXPECTED)
    for name, (kind, _) in EXPECTED.items():
        assert found[name].type == kind, name
        assert len(found[name].documentation) > 30, f"{name} needs help an operator can use"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_carry_exactly_the_documented_labels(name: str) -> None:
    """Once exercised, each family's samples are labelled exactly as documented."""
    _, labels = EXPECTED[name]
    family = families(exercised())[name]
    assert family.samples, name
    for sample in family.samples:
        own = set(sample.labels) - {"le"}
        assert own == labels, (name, sample)


@pytest.mark.parametrize(
    ("family", "label", "values"),
    [
        pytest.param("reconcile", "result", metrics.RECONCILE_RESULTS, id="reconcile-results"),
        pytest.param("errors", "reason", metrics.ERROR_REASONS, id="error-reasons"),
        pytest.param("drift_repairs", "kind", metrics.DRIFT_KINDS, id="drift-kinds"),
        pytest.param("watch_restarts", "reason", metrics.WATCH_RESTART_REASONS, id="restarts"),
        pytest.param("informer_synced", "cluster", metrics.CLUSTERS, id="informers"),
    ],
)
def test_closed_label_sets_start_at_zero(family: str, label: str, values: tuple[str, ...]) -> None:
    """Every value of a closed label set is exposed at 0 before anything happened."""
    samples = families(metrics.Metrics())[family].samples
    assert {s.labels[label] for s in samples} == set(values)
    assert all(s.value == 0 for s in samples)


def test_reconcile_results_are_the_documented_set() -> None:
    """The reconcile result labels are exactly the seven outcomes the dashboards use."""
    assert set(metrics.RECONCILE_RESULTS) == {
        "created",
        "updated",
        "deleted",
        "unchanged",
        "skipped",
        "error",
        "conflict",
    }


def test_build_info_names_version_and_python() -> None:
    """build_info is 1 and labelled with the given version and the running Python."""
    m = metrics.Metrics(version="1.2.3")
    assert m.registry.get_sample_value(
        "netpol_syncer_build_info", {"version": "1.2.3", "python": platform.python_version()}
    ) == pytest.approx(1.0)


def test_build_info_defaults_to_the_installed_version() -> None:
    """Without an explicit version, build_info reports the installed distribution's."""
    (sample,) = families(metrics.Metrics())["build_info"].samples
    assert sample.labels["version"] == metrics.package_version() != ""


def test_histogram_buckets_cover_the_documented_ranges() -> None:
    """Reconcile buckets span 0.5 ms to 10 s and sync latency buckets 1 ms to 30 s."""
    found = families(metrics.Metrics())

    def bounds(name: str) -> list[float]:
        return [
            float(s.labels["le"])
            for s in found[name].samples
            if s.name.endswith("_bucket") and s.labels["le"] != "+Inf"
        ]

    assert (
        min(bounds("reconcile_duration_seconds")),
        max(bounds("reconcile_duration_seconds")),
    ) == (
        0.0005,
        10.0,
    )
    assert (min(bounds("sync_latency_seconds")), max(bounds("sync_latency_seconds"))) == (
        0.001,
        30.0,
    )
    assert 0.05 in bounds("sync_latency_seconds"), "the p99 target of 50 ms needs its own bucket"
