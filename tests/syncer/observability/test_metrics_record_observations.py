"""The typed methods move the right series, and each Metrics instance counts only its own work."""

from __future__ import annotations

import collections.abc
from collections.abc import Hashable

import prometheus_client
import pytest

from syncer.pipeline import queueing
from syncer.runtime import metrics


def value(m: metrics.Metrics, name: str, **labels: str) -> float:
    """The current value of one sample (0 when the series does not exist)."""
    found = m.registry.get_sample_value(metrics.PREFIX + name, labels)
    return 0.0 if found is None else found


class NoBackoff:
    """A rate limiter that always retries at once."""

    def when(self, key: Hashable) -> float:
        """No delay."""
        return 0.0

    def forget(self, key: Hashable) -> None:
        """Nothing to forget."""

    def num_requeues(self, key: Hashable) -> int:
        """Never counted."""
        return 0


def test_two_instances_do_not_share_state() -> None:
    """Counting in one Metrics leaves another, and the global registry, untouched."""
    first, second = metrics.Metrics(), metrics.Metrics()
    first.observe_reconcile("created", 0.01)
    first.set_leader(True)
    assert value(first, "reconcile_total", result="created") == 1
    assert value(second, "reconcile_total", result="created") == 0
    assert value(second, "leader") == 0
    assert not any(f.name.startswith("netpol_syncer") for f in prometheus_client.REGISTRY.collect())


def test_reconcile_counts_result_and_duration() -> None:
    """observe_reconcile increments the result's counter and the duration histogram."""
    m = metrics.Metrics(strict=True)
    m.observe_reconcile("unchanged", 0.0004)
    m.observe_reconcile("unchanged", 2.0)
    assert value(m, "reconcile_total", result="unchanged") == 2
    assert value(m, "reconcile_duration_seconds_count") == 2
    assert value(m, "reconcile_duration_seconds_bucket", le="0.0005") == 1


@pytest.mark.parametrize(
    ("code", "label"),
    [
        pytest.param(200, "200", id="int"),
        pytest.param("409", "409", id="string"),
        pytest.param(None, "error", id="none"),
        pytest.param(0, "error", id="zero"),
        pytest.param("error", "error", id="error"),
    ],
)
def test_api_requests_are_labelled_by_status(code: int | str | None, label: str) -> None:
    """A status becomes its decimal string; no response at all becomes "error"."""
    m = metrics.Metrics(strict=True)
    m.observe_api("virtual", "list", code, 0.02)
    assert value(m, "api_requests_total", cluster="virtual", verb="list", code=label) == 1
    assert value(m, "api_request_duration_seconds_count", cluster="virtual", verb="list") == 1


def test_strict_instances_reject_unknown_label_values() -> None:
    """With strict=True a misspelt label value raises instead of adding a series."""
    m = metrics.Metrics(strict=True)
    with pytest.raises(ValueError, match="result='crated'"):
        m.observe_reconcile("crated", 0.1)
    with pytest.raises(ValueError, match="cluster='guest'"):
        m.watch_restarted("guest", "closed")


def test_lenient_instances_record_unknown_label_values() -> None:
    """By default an unknown value is still counted, so a metrics call never fails a worker."""
    m = metrics.Metrics()
    m.sync_error("SyncError")
    assert value(m, "errors_total", reason="SyncError") == 1


def test_leader_transitions_count_changes_only() -> None:
    """set_leader counts a transition when the state changes, not on every renewal."""
    m = metrics.Metrics()
    for state in (True, True, True, False, False, True):
        m.set_leader(state)
    assert value(m, "leader") == 1
    assert value(m, "leader_transitions_total") == 3


def test_policy_gauges_are_read_at_scrape_time() -> None:
    """track_policies reads the given callables at each scrape; untracked gauges stay 0."""
    m = metrics.Metrics()
    cache = {"a": 1}
    m.track_policies(virtual=lambda: len(cache), synced=lambda: 4)
    assert (value(m, "virtual_policies"), value(m, "synced_policies")) == (1, 4)
    cache["b"] = 2
    assert value(m, "virtual_policies") == 2
    assert value(m, "host_policies") == 0


def test_informer_synced_flips_per_cluster() -> None:
    """informer_synced sets one cluster's gauge to 1 and can set it back to 0."""
    m = metrics.Metrics(strict=True)
    m.informer_synced("virtual")
    assert (
        value(m, "informer_synced", cluster="virtual"),
        value(m, "informer_synced", cluster="host"),
    ) == (1, 0)
    m.informer_synced("virtual", synced=False)
    assert value(m, "informer_synced", cluster="virtual") == 0


def test_events_and_drift_repairs_are_counted() -> None:
    """event_emitted and drift_repaired increment their labelled counters."""
    m = metrics.Metrics(strict=True)
    m.event_emitted("Warning", "HostNameCollision")
    m.drift_repaired("recreated")
    assert value(m, "events_total", type="Warning", reason="HostNameCollision") == 1
    assert value(m, "drift_repairs_total", kind="recreated") == 1


async def test_work_queue_reports_through_metrics() -> None:
    """A real WorkQueue with Metrics as its observer moves depth, adds and wait time."""
    m = metrics.Metrics()
    queue: queueing.WorkQueue[str] = queueing.WorkQueue(limiter=NoBackoff(), metrics=m)
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert value(m, "queue_depth") == 2
    async with queue.get() as key:
        queue.add_rate_limited(key)  # no backoff: due again at once, so one more add
    assert value(m, "queue_adds_total") == 3
    assert value(m, "queue_retries_total") == 1
    assert value(m, "queue_wait_seconds_count") == 1
    assert value(m, "queue_depth") == 2


def test_metrics_has_every_method_the_controller_calls() -> None:
    """Every method of the controller-side metrics protocols exists on Metrics."""
    from syncer.pipeline import controller
    from syncer.runtime import clients

    wanted = {
        name
        for proto in (controller.ControllerMetrics, clients.RequestObserver)
        for klass in proto.__mro__
        if klass not in (object, collections.abc.Hashable) and klass.__name__ != "Protocol"
        for name, member in vars(klass).items()
        if callable(member) and not name.startswith("_")
    }
    assert wanted, "the protocols were not found"
    missing = sorted(name for name in wanted if not callable(getattr(metrics.Metrics, name, None)))
    assert missing == []


def _fits_the_protocols(m: metrics.Metrics) -> None:
    """Not a test: mypy checks these assignments when it checks this file."""
    from syncer.pipeline import controller
    from syncer.runtime import clients

    as_controller: controller.ControllerMetrics = m
    as_observer: clients.RequestObserver = m
    as_queue: queueing.QueueMetrics = m
    del as_controller, as_observer, as_queue


def test_render_negotiates_openmetrics() -> None:
    """A scraper asking for OpenMetrics gets it; everyone else gets the classic text format."""
    m = metrics.Metrics()
    plain, plain_type = m.render()
    assert plain_type.startswith("text/plain; version=0.0.4")
    assert b"# TYPE netpol_syncer_reconcile_total counter" in plain
    om, om_type = m.render("application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert om_type.startswith("application/openmetrics-text")
    assert om.endswith(b"# EOF\n")
