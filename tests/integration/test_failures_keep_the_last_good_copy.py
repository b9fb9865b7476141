"""A policy that cannot be synced keeps its last good host copy, and the tenant is told why
(issue 4, item 6; SPEC §4 and §6): a ``SyncError`` Warning event on the virtual object and an
``errors_total`` increment, while every other policy keeps syncing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.harness import (
    Clusters,
    Run,
    create,
    edit,
    events_for,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

HOST = "web-x-default-x-vc"
FROZEN = "sync.example.com/frozen"
PATCHES = """\
sync:
  toHost:
    networkPolicies:
      patches:
        - op: test
          path: /metadata/annotations/sync.example.com~1frozen
          value: "no"
"""


async def _errors(run: Run, reason: str) -> float:
    return (await run.metrics()).value("netpol_syncer_errors_total", reason=reason)


def _widen(obj: dict[str, Any]) -> None:
    obj["spec"]["ingress"] = [{}]


def _assert_sync_error(event: dict[str, Any], virtual: dict[str, Any], *words: str) -> None:
    meta = virtual["metadata"]
    assert event["type"] == "Warning"
    assert event["reason"] == "SyncError"
    assert event["involvedObject"]["kind"] == "NetworkPolicy"
    assert event["involvedObject"]["apiVersion"] == "networking.k8s.io/v1"
    assert event["involvedObject"]["name"] == meta["name"]
    assert event["involvedObject"]["namespace"] == meta["namespace"]
    assert event["involvedObject"]["uid"] == meta["uid"]
    assert event["metadata"]["namespace"] == meta["namespace"]
    assert event["count"] >= 1
    for word in words:
        assert word in event["message"], event["message"]


async def test_a_failing_patch_keeps_the_copy_and_warns(clusters: Clusters, tmp_path: Path) -> None:
    """When a ``test`` patch starts failing for one policy, its host copy stays as it was, a
    SyncError event names the policy, PatchFailed is counted, and other policies still sync."""
    config_path = tmp_path / "vcluster.yaml"
    config_path.write_text(PATCHES, encoding="utf-8")
    patch_list = clusters.patch_list(config_path)
    create(clusters.virtual, network_policy("web", annotations={FROZEN: "no"}))
    async with clusters.run(config_path=str(config_path)) as run:
        await wait_converged(clusters, patch_list)
        good = host_copies(clusters.host)[HOST]

        def freeze_and_widen(obj: dict[str, Any]) -> None:
            obj["metadata"]["annotations"][FROZEN] = "yes"
            _widen(obj)

        virtual = edit(clusters.virtual, "default", "web", freeze_and_widen)
        events = await wait_for(lambda: events_for(clusters.virtual, virtual), timeout=20)
        _assert_sync_error(events[0], virtual, "test")
        assert await _errors(run, "PatchFailed") == 1
        assert host_copies(clusters.host)[HOST] == good

        create(clusters.virtual, network_policy("other", annotations={FROZEN: "no"}))
        await wait_for(lambda: "other-x-default-x-vc" in host_copies(clusters.host), timeout=20)
        assert host_copies(clusters.host)[HOST] == good

        # Fixing the object (the patch passes again) syncs the change.
        edit(
            clusters.virtual,
            "default",
            "web",
            lambda o: o["metadata"]["annotations"].update({FROZEN: "no"}),
        )
        await wait_converged(clusters, patch_list)
        assert host_copies(clusters.host)[HOST]["spec"]["ingress"] == [{}]


async def test_a_host_422_keeps_the_copy_and_warns(clusters: Clusters) -> None:
    """A host rejection (422 Invalid) of an update keeps the last good copy, leaves a SyncError
    event on the virtual object and counts HostRejected; the process keeps running."""
    create(clusters.virtual, network_policy("web"))
    async with clusters.run() as run:
        await wait_converged(clusters)
        good = host_copies(clusters.host)[HOST]
        rejection = clusters.host.faults.fail(
            verb="update", resource="networkpolicies", name=HOST, status=422
        )
        virtual = edit(clusters.virtual, "default", "web", _widen)
        events = await wait_for(lambda: events_for(clusters.virtual, virtual), timeout=20)
        _assert_sync_error(events[0], virtual, HOST)
        assert await _errors(run, "HostRejected") == 1
        assert rejection.hits == 1, "a permanent rejection must not be retried"
        assert host_copies(clusters.host)[HOST] == good
        assert await run.probe("/healthz") == 200

        rejection.remove()
        edit(clusters.virtual, "default", "web", lambda o: o["metadata"].update(labels={"v": "2"}))
        await wait_converged(clusters)


COPY_TO_LABEL = """\
sync:
  toHost:
    networkPolicies:
      patches:
        - op: copy
          from: /metadata/annotations/team
          path: /metadata/labels/team
"""


async def test_a_patch_that_makes_the_object_invalid_is_rejected_by_the_host(
    clusters: Clusters, tmp_path: Path
) -> None:
    """A patch copying an annotation into a label passes for a label-safe value; for a value the
    host's validation refuses, the last good copy stays and the event carries the cause."""
    config_path = tmp_path / "vcluster.yaml"
    config_path.write_text(COPY_TO_LABEL, encoding="utf-8")
    patch_list = clusters.patch_list(config_path)
    create(clusters.virtual, network_policy("web", annotations={"team": "shop"}))
    async with clusters.run(config_path=str(config_path)) as run:
        await wait_converged(clusters, patch_list)
        good = host_copies(clusters.host)[HOST]
        assert good["metadata"]["labels"]["team"] == "shop"

        def rename_team(obj: dict[str, Any]) -> None:
            obj["metadata"]["annotations"]["team"] = "Shop & Payments"
            _widen(obj)

        virtual = edit(clusters.virtual, "default", "web", rename_team)
        events = await wait_for(lambda: events_for(clusters.virtual, virtual), timeout=20)
        _assert_sync_error(events[0], virtual, "metadata.labels")
        assert await _errors(run, "HostRejected") == 1
        assert host_copies(clusters.host)[HOST] == good


async def test_repeated_failures_aggregate_into_one_event_with_every_repeat_counted(
    clusters: Clusters,
) -> None:
    """A policy that fails on every resync has one SyncError Event whose count, once the
    syncer has stopped, equals the failures recorded (none lost at shutdown)."""
    clusters.host.faults.fail(verb="create", resource="networkpolicies", status=422)
    virtual = create(clusters.virtual, network_policy("web"))
    async with clusters.run(resync_period=0.2) as run:

        async def failed_repeatedly() -> bool:
            return await _errors(run, "HostRejected") >= 3

        await wait_for(failed_repeatedly, timeout=20)
    failures = await _errors(run, "HostRejected")
    events = events_for(clusters.virtual, virtual)
    assert len(events) == 1, "repeats must update one Event, not create new ones"
    _assert_sync_error(events[0], virtual)
    assert events[0]["count"] == failures


async def test_the_shutdown_flush_finishes_before_the_clients_close(clusters: Clusters) -> None:
    """The last repeats reach the Event even when the virtual API answers slowly at shutdown:
    the syncer closes its API clients (and releases the lease) only after the Event flush,
    not as soon as the workers are idle."""
    clusters.host.faults.fail(verb="create", resource="networkpolicies", status=422)
    virtual = create(clusters.virtual, network_policy("web"))
    async with clusters.run(resync_period=0.2) as run:

        async def failed_repeatedly() -> bool:
            return await _errors(run, "HostRejected") >= 2

        await wait_for(failed_repeatedly, timeout=20)
        await wait_for(lambda: events_for(clusters.virtual, virtual), timeout=20)
        # The shutdown flush's PATCH of the count is still in flight when the workers are done.
        clusters.virtual.faults.delay(0.2, verb="patch", resource="events")
    events = events_for(clusters.virtual, virtual)
    assert len(events) == 1
    assert events[0]["count"] == await _errors(run, "HostRejected")
