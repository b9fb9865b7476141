"""Host copies changed by someone else are repaired, keeping what other tools added (item 2)."""

from __future__ import annotations

from typing import Any

from tests.support.harness import (
    Clusters,
    Run,
    create,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)

HOST = "web-x-default-x-vc"
FOREIGN_LABEL = "backup.example.com/include"
FOREIGN_ANNOTATION = "monitoring.example.com/scraped"


async def _synced_policy(clusters: Clusters) -> dict[str, Any]:
    create(
        clusters.virtual,
        network_policy(
            "web",
            labels={"app": "web"},
            annotations={"note": "tenant"},
            pod_selector={"matchLabels": {"app": "web"}},
            ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "lb"}}}]}],
        ),
    )
    await wait_converged(clusters)
    return host_copies(clusters.host)[HOST]


async def _drift(run: Run, kind: str) -> float:
    return (await run.metrics()).value("netpol_syncer_drift_repairs_total", kind=kind)


async def test_a_deleted_copy_is_recreated(clusters: Clusters) -> None:
    """Deleting a host copy out of band brings it back and counts one ``recreated`` repair."""
    async with clusters.run() as run:
        first = await _synced_policy(clusters)
        clusters.host.store.delete("networkpolicies", first["metadata"]["namespace"], HOST)
        await wait_for(lambda: HOST in host_copies(clusters.host), timeout=20)
        await wait_converged(clusters)
        assert host_copies(clusters.host)[HOST]["metadata"]["uid"] != first["metadata"]["uid"]
        await wait_for(lambda: _drift(run, "recreated"), timeout=5)
        assert await _drift(run, "recreated") == 1
        assert await _drift(run, "reverted") == 0


async def test_an_edited_copy_is_reverted_and_foreign_additions_survive(
    clusters: Clusters,
) -> None:
    """Edits of the spec and of owned labels/annotations are reverted in place; a label and an
    annotation another tool added stay, and one ``reverted`` repair is counted."""
    async with clusters.run() as run:
        synced = await _synced_policy(clusters)
        tampered = synced
        meta = tampered["metadata"]
        meta["labels"]["app"] = "tampered"
        meta["labels"]["vcluster.loft.sh/namespace"] = "other"
        meta["labels"][FOREIGN_LABEL] = "true"
        meta["annotations"]["note"] = "tampered"
        meta["annotations"]["vcluster.loft.sh/object-uid"] = "not-the-uid"
        meta["annotations"][FOREIGN_ANNOTATION] = "yes"
        tampered["spec"]["podSelector"] = {}
        tampered["spec"]["ingress"] = [{}]
        clusters.host.store.update(tampered)

        await wait_converged(clusters, tolerated=[FOREIGN_LABEL, FOREIGN_ANNOTATION])
        repaired = host_copies(clusters.host)[HOST]
        assert repaired["metadata"]["uid"] == synced["metadata"]["uid"]
        assert repaired["metadata"]["labels"][FOREIGN_LABEL] == "true"
        assert repaired["metadata"]["annotations"][FOREIGN_ANNOTATION] == "yes"
        await wait_for(lambda: _drift(run, "reverted"), timeout=5)
        assert await _drift(run, "reverted") == 1
        assert await _drift(run, "recreated") == 0


async def test_a_foreign_addition_alone_causes_no_write(clusters: Clusters) -> None:
    """A label and an annotation added on the host by another tool are not a drift: no write."""
    async with clusters.run() as run:
        synced = await _synced_policy(clusters)
        before = writes(clusters.host)
        unchanged = (await run.metrics()).value("netpol_syncer_reconcile_total", result="unchanged")
        synced["metadata"]["labels"][FOREIGN_LABEL] = "true"
        synced["metadata"]["annotations"][FOREIGN_ANNOTATION] = "yes"
        updated = clusters.host.store.update(synced)
        # The host event is reconciled (the counter moves) and finds nothing to do.

        async def reconciled_again() -> bool:
            now = (await run.metrics()).value("netpol_syncer_reconcile_total", result="unchanged")
            return now > unchanged

        await wait_for(reconciled_again, timeout=10)
        assert writes(clusters.host) == before  # direct-store edits are not HTTP requests
        current = host_copies(clusters.host)[HOST]
        assert current["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
        assert await _drift(run, "reverted") == 0


async def test_a_label_the_tenant_removes_leaves_the_copy_and_foreign_labels_stay(
    clusters: Clusters,
) -> None:
    """A label removed from the virtual policy while the syncer runs is removed from the host
    copy (the copy equals the translation again); a label another tool added stays."""
    async with clusters.run():
        synced = await _synced_policy(clusters)
        synced["metadata"]["labels"][FOREIGN_LABEL] = "true"
        clusters.host.store.update(synced)
        virtual = clusters.virtual.store.get("networkpolicies", "default", "web")
        virtual["metadata"]["labels"] = {"team": "shop"}
        clusters.virtual.store.update(virtual)

        def relabelled() -> bool:
            labels = host_copies(clusters.host)[HOST]["metadata"]["labels"]
            return labels.get("team") == "shop" and "app" not in labels

        await wait_for(relabelled, timeout=10)
        await wait_converged(clusters, tolerated=[FOREIGN_LABEL])
        assert host_copies(clusters.host)[HOST]["metadata"]["labels"][FOREIGN_LABEL] == "true"
