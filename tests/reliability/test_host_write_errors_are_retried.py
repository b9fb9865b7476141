"""Temporary API failures are retried until the host converges; ``Retry-After`` is honoured
(SPEC §6 Work queue: per-key exponential backoff, 429/Retry-After honoured)."""

from __future__ import annotations

from tests.support.harness import (
    Clusters,
    RequestLog,
    create,
    edit,
    network_policy,
    wait_converged,
)

NETPOLS = "networkpolicies"


async def test_server_errors_on_writes_and_lists_are_retried(clusters: Clusters) -> None:
    """500s on the first host creates and updates and on the first virtual LISTs delay the
    sync but do not prevent it; each object is created exactly once and nothing is given up."""
    clusters.virtual.faults.fail(verb="list", resource=NETPOLS, status=500, count=2)
    creates = clusters.host.faults.fail(verb="create", resource=NETPOLS, status=500, count=6)
    for i in range(10):
        create(clusters.virtual, network_policy(f"p{i}"))
    async with clusters.run() as run:
        await wait_converged(clusters)
        assert creates.hits == 6
        updates = clusters.host.faults.fail(verb="update", resource=NETPOLS, status=503, count=4)
        for i in range(5):
            edit(clusters.virtual, "default", f"p{i}", lambda o: o["spec"].update(ingress=[{}]))
        await wait_converged(clusters)
        assert updates.hits == 4
        samples = await run.metrics()
        assert samples.value("netpol_syncer_errors_total") == 0
        assert samples.value("netpol_syncer_queue_retries_total") >= 10
    responses = clusters.host.counters.responses()
    assert responses[("create", NETPOLS, 201)] == 10
    assert responses[("update", NETPOLS, 200)] == 5
    assert ("create", NETPOLS, 409) not in responses


async def test_429_retry_after_is_honoured(clusters: Clusters) -> None:
    """After a 429 with ``Retry-After: 2`` the same write is not retried for two seconds."""
    requests = RequestLog(clusters.host)
    throttled = clusters.host.faults.fail(
        verb="create", resource=NETPOLS, status=429, retry_after=2, count=1
    )
    create(clusters.virtual, network_policy("web"))
    async with clusters.run() as run:
        await wait_converged(clusters)
        assert throttled.hits == 1
        first, second = requests.times("create")
        assert second - first >= 2.0 - 0.02, f"retried after {second - first:.3f}s"
        samples = await run.metrics()
        assert samples.value("netpol_syncer_api_requests_total", verb="create", code="429") == 1
        assert samples.value("netpol_syncer_errors_total") == 0
