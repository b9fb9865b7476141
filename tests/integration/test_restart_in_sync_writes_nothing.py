"""A restarted syncer whose host copies already match writes nothing (issue 4, item 3).

The host server defaults what the syncer wrote (port protocols, policyTypes) and other tools may
have added labels; neither may look like a difference, or every restart of 10,000 policies
would rewrite all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import (
    EXAMPLE_CONFIG,
    Clusters,
    Run,
    create,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
    writes,
)


def _varied() -> list[dict[str, Any]]:
    """Policies whose stored form differs from what was written, or is easy to mis-compare."""
    return [
        network_policy(
            "defaults",
            ingress=[{"ports": [{"port": 80}, {"port": "http"}]}],
            egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}],
        ),
        network_policy(
            "ranges",
            "team-a",
            pod_selector={"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
            egress=[
                {
                    "to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/16"]}}],
                    "ports": [{"port": 30000, "endPort": 32767, "protocol": "SCTP"}],
                }
            ],
            policy_types=["Egress"],
        ),
        network_policy(
            "peers",
            "team-a",
            labels={"release": "stable", "app": ""},
            annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "a": "b"},
            ingress=[
                {
                    "from": [
                        {"namespaceSelector": {}},
                        {
                            "namespaceSelector": {"matchLabels": {"team": "a"}},
                            "podSelector": {"matchLabels": {"vcluster.loft.sh/namespace": "x"}},
                        },
                        {"podSelector": {}},
                    ]
                },
                {},
            ],
        ),
        network_policy("deny-all", "team-b", policy_types=["Ingress", "Egress"]),
        network_policy("allow-all", "team-b", ingress=[{}], egress=[{}]),
    ]


async def _reconciled(run: Run, result: str) -> float:
    return (await run.metrics()).value("netpol_syncer_reconcile_total", result=result)


EMPTY_VALUES_PATCH = """\
sync:
  toHost:
    networkPolicies:
      patches:
        - op: add
          path: /spec/policyTypes
          value: [Ingress, Egress]
        - op: add
          path: /spec/ingress
          value: []
"""
"""A narrowing patch (deny all ingress) whose empty list the server drops when storing the
copy. It applies to every policy and is accepted: declaring both types keeps or adds isolation
and an empty ingress list allows nothing (narrowing a pod selector would widen, SPEC §4)."""


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(None, id="no-patches"),
        pytest.param(EXAMPLE_CONFIG, id="example-patches"),
        pytest.param(EMPTY_VALUES_PATCH, id="patch-with-empty-list"),
    ],
)
async def test_restart_with_everything_in_sync_performs_zero_writes(
    clusters: Clusters, config: Path | str | None, tmp_path: Path
) -> None:
    """After a restart every key is reconciled as unchanged and the host sees no write."""
    config_path: Path | None = config if not isinstance(config, str) else None
    if isinstance(config, str):
        config_path = tmp_path / "vcluster.yaml"
        config_path.write_text(config, encoding="utf-8")
    options = {"config_path": str(config_path)} if config_path else {}
    patch_list = clusters.patch_list(config_path)
    for obj in _varied():
        create(clusters.virtual, obj)
    async with clusters.run(**options):
        await wait_converged(clusters, patch_list)
    # Another tool's additions on a copy must not count as a difference either.
    tagged = host_copies(clusters.host)["defaults-x-default-x-vc"]
    tagged["metadata"]["labels"]["backup.example.com/include"] = "true"
    clusters.host.store.update(tagged)

    clusters.virtual.counters.reset()
    clusters.host.counters.reset()
    async with clusters.run(**options) as run:
        await run.wait_ready()
        await wait_for(
            lambda: _all_unchanged(run, len(_varied())),
            timeout=20,
            message="not every key was reconciled as unchanged",
        )
        assert await _reconciled(run, "created") == 0
        assert await _reconciled(run, "updated") == 0
        assert await _reconciled(run, "deleted") == 0
    assert writes(clusters.host) == 0
    assert clusters.host.counters["list", "networkpolicies"] == 1
    assert clusters.virtual.counters["list", "networkpolicies"] == 1


async def _all_unchanged(run: Run, count: int) -> bool:
    return await _reconciled(run, "unchanged") >= count
