"""Create, update and delete in the virtual cluster converge on the host (issue 4, item 1).

The host objects are compared with what the offline ``netpol-syncer translate -o json`` prints
for the same virtual objects, so the controller and the command a platform engineer uses to
predict it cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.harness import (
    EXAMPLE_CONFIG,
    EXAMPLE_POLICIES,
    Clusters,
    create,
    edit,
    host_copies,
    network_policy,
    owned_view,
    translate_cli,
    virtual_policies,
    wait_for,
)

CONFIGS = [
    pytest.param(None, id="no-patches"),
    pytest.param(EXAMPLE_CONFIG, id="example-patches"),
]


def _examples() -> list[dict[str, Any]]:
    found = []
    for path in sorted(EXAMPLE_POLICIES.glob("*.yaml")):
        found += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return found


def _extras() -> list[dict[str, Any]]:
    """Shapes the examples lack: reserved label keys, a hashed long name, another namespace."""
    return [
        network_policy(
            "reserved-keys",
            "team-a",
            labels={"release": "r1", "vcluster.loft.sh/managed-by": "someone", "app": "x"},
            annotations={
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "note": "kept",
            },
            pod_selector={
                "matchExpressions": [{"key": "release", "operator": "In", "values": ["a", "b"]}]
            },
            ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}],
        ),
        network_policy(
            "a-rather-long-policy-name-that-forces-the-hashed-host-name",
            "team-a",
            egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
            policy_types=["Egress"],
        ),
    ]


def _views(clusters: Clusters) -> dict[str, dict[str, Any]]:
    return {name: owned_view(obj) for name, obj in host_copies(clusters.host).items()}


async def _wait_host_equals_cli(clusters: Clusters, config_path: Path | None) -> None:
    expected = await translate_cli(virtual_policies(clusters.virtual), config_path)
    await wait_for(
        lambda: _views(clusters) == expected,
        timeout=20,
        interval=0.05,
        message=lambda: f"host {_views(clusters)!r}\n!= translate {expected!r}",
    )


@pytest.mark.parametrize("config_path", CONFIGS)
async def test_created_policies_appear_as_translate_prints_them(
    clusters: Clusters, config_path: Path | None
) -> None:
    """Every virtual policy gets a host copy equal to the offline translation of it."""
    async with clusters.run(**({"config_path": str(config_path)} if config_path else {})):
        for obj in _examples() + _extras():
            create(clusters.virtual, obj)
        await _wait_host_equals_cli(clusters, config_path)
        assert len(host_copies(clusters.host)) == len(_examples()) + len(_extras())


@pytest.mark.parametrize("config_path", CONFIGS)
async def test_updates_and_deletes_follow_the_virtual_object(
    clusters: Clusters, config_path: Path | None
) -> None:
    """An edited policy's copy is rewritten in place; a deleted policy's copy goes away."""
    async with clusters.run(**({"config_path": str(config_path)} if config_path else {})):
        for obj in _examples():
            create(clusters.virtual, obj)
        await _wait_host_equals_cli(clusters, config_path)
        before = host_copies(clusters.host)

        def change(obj: dict[str, Any]) -> None:
            obj["metadata"].setdefault("labels", {})["tier"] = "frontend"
            obj["metadata"]["annotations"] = {"owner": "shop-team"}
            obj["spec"]["ingress"] = [{"ports": [{"port": 8443, "protocol": "TCP"}]}]

        edit(clusters.virtual, "shop", "allow-from-ingress", change)
        clusters.virtual.store.delete("networkpolicies", "shop", "default-deny")
        await _wait_host_equals_cli(clusters, config_path)

        after = host_copies(clusters.host)
        assert "default-deny-x-shop-x-vc" not in after
        edited = "allow-from-ingress-x-shop-x-vc"
        assert after[edited]["metadata"]["uid"] == before[edited]["metadata"]["uid"], (
            "an update must be written in place, never by delete and re-create"
        )
        # The annotation the tenant dropped is gone from the host copy too.
        assert "description" not in after[edited]["metadata"]["annotations"]
