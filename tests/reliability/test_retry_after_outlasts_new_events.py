"""A host ``Retry-After`` is honoured even when the key is re-added meanwhile (issue 10, item 5):
neither a virtual change nor a resync retries the throttled write before the server's time."""

from __future__ import annotations

from tests.support.harness import (
    NETPOLS,
    Clusters,
    RequestLog,
    create,
    edit,
    network_policy,
    wait_converged,
    wait_for,
)

RETRY_AFTER = 3


async def test_a_change_and_resyncs_during_retry_after_do_not_retry_early(
    clusters: Clusters,
) -> None:
    """A 429 with ``Retry-After: 3`` on a create, then an edit of the policy and several
    resyncs (every 0.3 s) inside those 3 s: the next create still comes 3 s after the first,
    and it writes the edited policy."""
    requests = RequestLog(clusters.host)
    throttled = clusters.host.faults.fail(
        verb="create", resource=NETPOLS, status=429, retry_after=RETRY_AFTER, count=1
    )
    create(clusters.virtual, network_policy("web"))
    async with clusters.run(resync_period=0.3) as run:
        await wait_for(lambda: throttled.hits == 1, timeout=10, message="no throttled create")
        edit(clusters.virtual, "default", "web", lambda o: o["spec"].update(ingress=[{}]))
        await wait_converged(clusters)
        first, second = requests.times("create")
        assert second - first >= RETRY_AFTER - 0.02, f"retried after {second - first:.3f}s"
        samples = await run.metrics()
        assert samples.value("netpol_syncer_errors_total") == 0
