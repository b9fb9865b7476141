"""Every host copy is owned by the vCluster's Service (SPEC §3), as vCluster's own copies are:
present from the start, added when the Service appears, moved to a re-created Service's uid."""

from __future__ import annotations

from typing import Any

import translate
from tests.support.harness import (
    HOST_NAMESPACE,
    VCLUSTER,
    Clusters,
    create,
    edit,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

POLICIES = ("web", "api", "db")
FOREIGN = {
    "apiVersion": "example.com/v1",
    "kind": "Backup",
    "name": "nightly",
    "uid": "9f9f9f9f-0000-4000-8000-000000000009",
}


def _create_service(clusters: Clusters) -> str:
    """The vCluster's Service as its chart creates it; returns the uid the server gave it."""
    service = create(
        clusters.host,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": VCLUSTER, "namespace": HOST_NAMESPACE},
            "spec": {
                "ports": [{"name": "https", "port": 443, "targetPort": 8443}],
                "selector": {"app": "vcluster", "release": VCLUSTER},
            },
        },
    )
    return str(service["metadata"]["uid"])


def _create_policies(clusters: Clusters) -> None:
    for name in POLICIES:
        create(
            clusters.virtual,
            network_policy(name, pod_selector={"matchLabels": {"app": name}}, ingress=[{}]),
        )


def _owner_references(clusters: Clusters) -> dict[str, list[dict[str, Any]] | None]:
    """Host copy name -> its ownerReferences (None when it has none)."""
    return {
        name: copy["metadata"].get("ownerReferences")
        for name, copy in host_copies(clusters.host).items()
    }


def _all_owned_by(clusters: Clusters, uid: str) -> bool:
    expected = [translate.service_owner_reference(VCLUSTER, uid)]
    refs = _owner_references(clusters)
    return len(refs) == len(POLICIES) and all(r == expected for r in refs.values())


async def test_every_copy_is_owned_by_the_service(clusters: Clusters) -> None:
    """With the Service in place, each copy carries exactly one owner reference: the Service,
    with its uid, not a controller."""
    uid = _create_service(clusters)
    _create_policies(clusters)
    async with clusters.run():
        await wait_converged(clusters)
        assert _all_owned_by(clusters, uid), _owner_references(clusters)


async def test_without_the_service_copies_are_written_and_owned_once_it_appears(
    clusters: Clusters,
) -> None:
    """No Service: copies are written anyway, without an owner reference; when the Service is
    created they get it, and the syncer reports ready in both states."""
    _create_policies(clusters)
    async with clusters.run() as run:
        await wait_converged(clusters)
        await run.wait_ready()
        refs = _owner_references(clusters)
        assert len(refs) == len(POLICIES)
        assert all(r is None for r in refs.values()), refs
        uid = _create_service(clusters)
        await wait_for(
            lambda: _all_owned_by(clusters, uid),
            timeout=20,
            message=lambda: f"copies not owned by {uid}: {_owner_references(clusters)}",
        )


async def test_a_recreated_service_passes_its_new_uid_to_every_copy(clusters: Clusters) -> None:
    """The Service deleted and created again (a re-install): copies point at the new uid;
    an owner reference another tool added on the host stays."""
    old = _create_service(clusters)
    _create_policies(clusters)
    async with clusters.run():
        await wait_converged(clusters)
        await wait_for(lambda: _all_owned_by(clusters, old), timeout=20)
        web = host_copies(clusters.host)["web-x-default-x-vc"]
        web["metadata"]["ownerReferences"] = [FOREIGN, *web["metadata"]["ownerReferences"]]
        clusters.host.store.update(web)

        clusters.host.store.delete("services", HOST_NAMESPACE, VCLUSTER)
        new = _create_service(clusters)
        assert new != old
        ours = translate.service_owner_reference(VCLUSTER, new)

        def moved() -> bool:
            refs = _owner_references(clusters)
            return refs.get("web-x-default-x-vc") == [FOREIGN, ours] and all(
                r == [ours] for name, r in refs.items() if name != "web-x-default-x-vc"
            )

        await wait_for(
            moved, timeout=20, message=lambda: f"not moved to {new}: {_owner_references(clusters)}"
        )


async def test_a_deleted_service_leaves_recreated_copies_unowned(clusters: Clusters) -> None:
    """The Service deleted (by hand, or the vCluster being uninstalled): copies are written
    without the owner reference (SPEC §3), so the garbage collector cannot keep deleting the
    copies of policies that still exist; existing copies lose the dangling reference too."""
    uid = _create_service(clusters)
    _create_policies(clusters)
    async with clusters.run():
        await wait_converged(clusters)
        await wait_for(lambda: _all_owned_by(clusters, uid), timeout=20)
        clusters.host.store.delete("services", HOST_NAMESPACE, VCLUSTER)
        first = host_copies(clusters.host)["web-x-default-x-vc"]
        clusters.host.store.delete("networkpolicies", HOST_NAMESPACE, "web-x-default-x-vc")

        def recreated_unowned() -> bool:
            copies = host_copies(clusters.host)
            again = copies.get("web-x-default-x-vc")
            return (
                again is not None
                and again["metadata"]["uid"] != first["metadata"]["uid"]
                and len(copies) == len(POLICIES)
                and all(not c["metadata"].get("ownerReferences") for c in copies.values())
            )

        await wait_for(
            recreated_unowned,
            timeout=20,
            message=lambda: f"still owned: {_owner_references(clusters)}",
        )
        await wait_converged(clusters)
        new = _create_service(clusters)
        await wait_for(lambda: _all_owned_by(clusters, new), timeout=20)


async def test_a_service_that_cannot_be_listed_holds_up_no_copy(clusters: Clusters) -> None:
    """Listing the Service forbidden (a Role from an older chart): copies are still written,
    and get their owner once the list succeeds."""
    uid = _create_service(clusters)
    clusters.host.faults.fail(verb="list", resource="services", status=403)
    _create_policies(clusters)
    async with clusters.run():
        await wait_converged(clusters)
        refs = _owner_references(clusters)
        assert len(refs) == len(POLICIES)
        assert all(r is None for r in refs.values()), refs
        clusters.host.faults.clear()
        await wait_for(
            lambda: _all_owned_by(clusters, uid),
            timeout=30,
            message=lambda: f"copies not owned by {uid}: {_owner_references(clusters)}",
        )


async def test_a_write_in_flight_when_the_service_changes_is_redone(clusters: Clusters) -> None:
    """A copy written with the old uid while the Service is re-created is written again with
    the new one, not remembered as in sync."""
    old = _create_service(clusters)
    _create_policies(clusters)
    async with clusters.run():
        await wait_converged(clusters)
        await wait_for(lambda: _all_owned_by(clusters, old), timeout=20)
        delay = clusters.host.faults.delay(1.0, verb="update", resource="networkpolicies", count=1)
        edit(
            clusters.virtual,
            "default",
            "web",
            lambda obj: obj["metadata"].setdefault("labels", {}).update({"tier": "front"}),
        )
        await wait_for(
            lambda: delay.hits > 0,
            timeout=10,
            message="the write of web never started",
        )
        clusters.host.store.delete("services", HOST_NAMESPACE, VCLUSTER)
        new = _create_service(clusters)
        await wait_for(
            lambda: _all_owned_by(clusters, new),
            timeout=20,
            message=lambda: f"not moved to {new}: {_owner_references(clusters)}",
        )
