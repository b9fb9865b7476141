"""Seeded random histories of virtual changes, out-of-band host edits and injected faults always
end with the host equal to the translation of the final virtual state (SPEC §6: level-triggered,
convergent, safe under failures)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from tests.support.harness import (
    HOST_NAMESPACE,
    Clusters,
    DeleteWatchdog,
    create,
    host_copies,
    network_policy,
    wait_converged,
)

NETPOLS = "networkpolicies"
NAMES = ("a", "b", "c", "d", "e", "f")
NAMESPACES = ("default", "team-a")
STEPS = 40
TOLERATED = ("app", "tier", "vcluster.loft.sh/label-vc-x-a4d451ec23", "added-by-someone")
"""Label keys that may outlive their removal: the tenant's, hashed ``release``, a foreign one."""


def _spec(rng: random.Random) -> dict[str, Any]:
    peers = [
        {"podSelector": {"matchLabels": {"role": rng.choice(["db", "web"])}}},
        {"namespaceSelector": {"matchLabels": {"team": "a"}}},
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"release": "x"}}},
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
    ]
    ports = [
        {"port": 80},
        {"port": 53, "protocol": "UDP"},
        {"port": "http"},
        {"port": 1000, "endPort": 2000},
    ]
    spec: dict[str, Any] = {
        "podSelector": rng.choice([{}, {"matchLabels": {"app": rng.choice(["x", "y"])}}])
    }
    if rng.random() < 0.7:
        spec["ingress"] = [
            {
                "from": rng.sample(peers, rng.randint(0, 2)),
                "ports": rng.sample(ports, rng.randint(0, 2)),
            }
        ]
    if rng.random() < 0.4:
        spec["egress"] = [{"to": rng.sample(peers, 1)}]
        if rng.random() < 0.5:
            spec["policyTypes"] = ["Ingress", "Egress"]
    return spec


def _policy(rng: random.Random, name: str, namespace: str) -> dict[str, Any]:
    obj = network_policy(name, namespace)
    obj["metadata"]["labels"] = rng.choice([{}, {"app": "x"}, {"release": "r", "tier": "1"}])
    obj["metadata"]["annotations"] = rng.choice([{}, {"note": "a"}, {"note": "b", "other": "c"}])
    obj["spec"] = _spec(rng)
    return obj


async def _virtual_step(clusters: Clusters, rng: random.Random) -> None:
    name, namespace = rng.choice(NAMES), rng.choice(NAMESPACES)
    current = clusters.virtual.store.find(NETPOLS, namespace, name)
    if current is None:
        create(clusters.virtual, _policy(rng, name, namespace))
    elif rng.random() < 0.3:
        clusters.virtual.store.delete(NETPOLS, namespace, name)
    else:
        fresh = _policy(rng, name, namespace)
        current["metadata"]["labels"] = fresh["metadata"]["labels"]
        current["metadata"]["annotations"] = fresh["metadata"]["annotations"]
        current["spec"] = fresh["spec"]
        clusters.virtual.store.update(current)


async def _host_step(clusters: Clusters, rng: random.Random) -> None:
    copies = host_copies(clusters.host)
    if not copies:
        return
    victim = copies[rng.choice(sorted(copies))]
    if rng.random() < 0.5:
        clusters.host.store.delete(NETPOLS, HOST_NAMESPACE, victim["metadata"]["name"])
    else:
        victim["spec"]["podSelector"] = {}
        victim["metadata"]["labels"]["added-by-someone"] = "yes"
        clusters.host.store.update(victim)


async def _fault_step(clusters: Clusters, rng: random.Random) -> None:
    sim = rng.choice([clusters.virtual, clusters.host])
    roll = rng.randrange(6)
    if roll == 0:
        sim.faults.drop_watches(NETPOLS, graceful=rng.random() < 0.5)
    elif roll == 1:
        sim.faults.compact(NETPOLS)
        sim.faults.drop_watches(NETPOLS)
    elif roll == 2:
        verbs = ["create", "update", "delete"]
        clusters.host.faults.fail(verb=verbs, resource=NETPOLS, status=500, count=rng.randint(1, 4))
    elif roll == 3:
        clusters.host.faults.fail(
            verb=rng.choice(["create", "update", "delete"]),
            resource=NETPOLS,
            status=429,
            retry_after=1,
            count=1,
        )
    elif roll == 4:
        await sim.restart()
    else:
        async with sim.outage():
            await asyncio.sleep(rng.uniform(0.05, 0.3))


@pytest.mark.parametrize("seed", range(6))
async def test_a_random_history_converges(clusters: Clusters, seed: int) -> None:
    """Whatever happened, once the faults stop the host equals the expected translation."""
    rng = random.Random(seed)
    watchdog = DeleteWatchdog(clusters)
    for _ in range(4):
        await _virtual_step(clusters, rng)
    async with clusters.run(resync_period=0.0) as run:
        for _ in range(STEPS):
            step = rng.choices([_virtual_step, _host_step, _fault_step], weights=[6, 2, 2])[0]
            await step(clusters, rng)
            await asyncio.sleep(rng.uniform(0, 0.05))
        clusters.host.faults.clear()
        clusters.virtual.faults.clear()
        # Labels the tenant removed stay on the host copy (translate.diff explains why), as do
        # those "someone" added; everything else must be exact.
        await wait_converged(clusters, tolerated=TOLERATED, timeout=40)
        assert await run.probe("/healthz") == 200
    watchdog.assert_clean()
