"""A patch whose result would allow more than the tenant's policy is refused for that object
(issue 10, item 4; SPEC §4): the host copy stays as it was, a SyncError Warning event names the
patch entry, PatchFailed is counted, and the object syncs again once the patch stops widening."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.harness import (
    Clusters,
    create,
    edit,
    events_for,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

HOST = "web-x-default-x-vc"
PATCHES = """\
sync:
  toHost:
    networkPolicies:
      patches:
        - op: add
          path: /metadata/labels/team
          value: shop
        - op: replace
          path: /spec/ingress/0/ports/0/port
          value: 8080
"""
"""Pins the first port to 8080: a no-op while the tenant allows 8080, a widening otherwise."""


def _clients(port: int) -> list[dict[str, Any]]:
    return [
        {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": port}]}
    ]


async def test_a_widening_patch_keeps_the_copy_and_names_the_entry(
    clusters: Clusters, tmp_path: Path
) -> None:
    """Once the tenant allows port 80 instead, pinning 8080 opens a port: entry 1 is refused."""
    config_path = tmp_path / "vcluster.yaml"
    config_path.write_text(PATCHES, encoding="utf-8")
    patch_list = clusters.patch_list(config_path)
    create(clusters.virtual, network_policy("web", ingress=_clients(8080)))
    async with clusters.run(config_path=str(config_path)) as run:
        await wait_converged(clusters, patch_list)
        good = host_copies(clusters.host)[HOST]
        assert good["metadata"]["labels"]["team"] == "shop"

        virtual = edit(
            clusters.virtual, "default", "web", lambda o: o["spec"].update(ingress=_clients(80))
        )
        events = await wait_for(lambda: events_for(clusters.virtual, virtual), timeout=20)
        event = events[0]
        assert (event["type"], event["reason"]) == ("Warning", "SyncError")
        assert event["involvedObject"]["uid"] == virtual["metadata"]["uid"]
        for words in (
            "patch entry 1 (replace /spec/ingress/0/ports/0/port)",
            "widens the policy",
            "/spec/ingress/0 allows /spec/ingress/0/from/0 on TCP 8080",
        ):
            assert words in event["message"], event["message"]
        metrics = await run.metrics()
        assert metrics.value("netpol_syncer_errors_total", reason="PatchFailed") == 1
        assert host_copies(clusters.host)[HOST] == good

        # Allowing 8080 again makes the patch a no-op: the object syncs.
        edit(clusters.virtual, "default", "web", lambda o: o["spec"].update(ingress=_clients(8080)))
        await wait_converged(clusters, patch_list)
