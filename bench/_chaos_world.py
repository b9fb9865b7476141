"""The fault campaign's world: its constants, the virtual workload, and what the host must
look like (the expected state, an independent scoping check, an observer of every host change).
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import translate
from bench import _harness as h
from kubesim import KubeSim
from kubesim.versions import Event
from syncer.commands import running
from syncer.configuration import config
from translate import markers

Json = dict[str, Any]

NETPOLS: Final = "networkpolicies"
TARGET: Final = translate.Target(vcluster=h.VCLUSTER, host_namespace=h.HOST_NAMESPACE)
NAMESPACES: Final = tuple(f"team-{i}" for i in range(6))
"""Virtual namespaces the policies are spread over."""
WRITE_VERBS: Final = ("create", "update", "patch", "delete")
CONVERGE_LIMIT: Final = 15.0
"""Seconds the host may take to equal the translation once every fault has ended."""
CONVERGE_OBSERVE: Final = 60.0
"""Seconds convergence is still measured after the limit, so a failure reports how late."""
RESYNC_PERIOD: Final = 10.0
LEASE: Final = ("4s", "3s", "1s")
"""Lease duration, renew deadline and retry period of both replicas: a quick failover."""
SCENARIOS: Final = (
    "drops",
    "429",
    "compaction",
    "restart",
    "more-drops",
    "outage",
    "kill",
    "failover",
)
"""The fault scenarios, in the order they run (``--skip NAME`` leaves one out)."""
PATCHES: Final = (
    "sync:\n  toHost:\n    networkPolicies:\n      enabled: true\n      patches:\n"
    "        - op: add\n          path: /metadata/labels/campaign\n          value: chaos\n"
)
"""The replicas' config: one metadata patch, applied again by the expected-state check."""


# -- the virtual workload ------------------------------------------------------------------------


def _policy(rng: random.Random, namespace: str, name: str) -> Json:
    """One of a few realistic shapes, chosen by ``rng``."""
    app = f"app-{rng.randrange(10)}"
    shape = rng.randrange(5)
    spec: Json = {"podSelector": {"matchLabels": {"app": app}}}
    if shape == 0:
        spec["policyTypes"] = ["Ingress", "Egress"]  # default deny
    elif shape == 1:
        spec["ingress"] = [{"from": [{"podSelector": {}}], "ports": [{"port": 8080}]}]
    elif shape == 2:
        spec["ingress"] = [
            {
                "from": [
                    {"namespaceSelector": {"matchLabels": {"team": f"t{rng.randrange(3)}"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                ]
            }
        ]
    elif shape == 3:
        spec["policyTypes"] = ["Egress"]
        spec["egress"] = [
            {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}
        ]
    else:
        spec["ingress"] = [
            {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "tier", "operator": "In", "values": ["web", "api"]}
                            ]
                        }
                    }
                ],
                "ports": [{"port": rng.randrange(1, 65536), "protocol": "TCP"}],
            }
        ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": app},
            "annotations": {"owner": f"{namespace}@example.com"},
        },
        "spec": spec,
    }


class Workload:
    """Creates, updates and deletes virtual policies (names are never reused)."""

    def __init__(self, virtual: KubeSim, rng: random.Random, total: int) -> None:
        self.virtual = virtual
        self.rng = rng
        self.total = total
        self.alive: list[tuple[str, str]] = []
        self.counts = {"create": 0, "update": 0, "delete": 0}

    @property
    def remaining(self) -> int:
        return self.total - self.counts["create"]

    def create(self) -> tuple[str, str]:
        namespace = NAMESPACES[self.counts["create"] % len(NAMESPACES)]
        name = f"np-{self.counts['create']:05d}"
        self.virtual.store.create(_policy(self.rng, namespace, name))
        self.counts["create"] += 1
        self.alive.append((namespace, name))
        return namespace, name

    def update(self) -> None:
        namespace, name = self.rng.choice(self.alive)
        obj = self.virtual.store.get(NETPOLS, namespace, name)
        fresh = _policy(self.rng, namespace, name)
        obj["spec"] = fresh["spec"]
        obj["metadata"]["labels"] = {**fresh["metadata"]["labels"], "rev": str(self.rng.random())}
        self.virtual.store.update(obj)
        self.counts["update"] += 1

    def delete(self) -> None:
        namespace, name = self.alive.pop(self.rng.randrange(len(self.alive)))
        self.virtual.store.delete(NETPOLS, namespace, name)
        self.counts["delete"] += 1

    def step(self) -> None:
        """One random change: mostly creates while any remain, then updates and deletes (never
        below half of ``total``, so the end state still has many policies to compare)."""
        roll = self.rng.random()
        if self.remaining > 0 and (roll < 0.5 or len(self.alive) < 10):
            self.create()
        elif self.alive and roll < 0.85:
            self.update()
        elif len(self.alive) > max(10, self.total // 2):
            self.delete()
        elif self.alive:
            self.update()

    async def churn(
        self, stop: asyncio.Event, running: asyncio.Event, *, pause: float, limit: int
    ) -> None:
        """A change every ``pause`` seconds while ``running``, until ``stop`` (or ``limit``)."""
        for _ in range(limit):
            await running.wait()
            if stop.is_set():
                return
            self.step()
            await asyncio.sleep(pause)

    async def burst(self, changes: int, *, pause: float = 0.002) -> None:
        for _ in range(changes):
            self.step()
            await asyncio.sleep(pause)


# -- what the host must look like ----------------------------------------------------------------


class Expectation:
    """The translation of the current virtual state, as the API would store it."""

    def __init__(self, config_path: Path) -> None:
        self.desire = running.desire_for(TARGET, config.load(config_path).patches)
        self.scratch = KubeSim(namespaces=[h.HOST_NAMESPACE])
        self._memo: dict[tuple[str, str], Json] = {}

    def expected(self, virtual: KubeSim) -> dict[str, Json]:
        out: dict[str, Json] = {}
        memo: dict[tuple[str, str], Json] = {}
        for obj in virtual.store.list(NETPOLS):
            key = (obj["metadata"]["uid"], obj["metadata"]["resourceVersion"])
            view = self._memo.get(key)
            if view is None:
                wanted = self.desire(obj)  # type: ignore[arg-type]
                stored = self.scratch.store.create(copy.deepcopy(dict(wanted)), dry_run=True)
                view = owned_view(stored)
            memo[key] = view
            out[view["name"]] = view
        self._memo = memo
        return out

    def differences(self, virtual: KubeSim, host: KubeSim) -> list[str]:
        expected = self.expected(virtual)
        actual = {name: owned_view(obj) for name, obj in host_copies(host).items()}
        problems = [f"missing on host: {n}" for n in sorted(expected.keys() - actual.keys())]
        problems += [f"unexpected on host: {n}" for n in sorted(actual.keys() - expected.keys())]
        for name in sorted(expected.keys() & actual.keys()):
            for part in ("labels", "annotations", "spec"):
                if expected[name][part] != actual[name][part]:
                    problems.append(
                        f"{name}.{part}: expected {expected[name][part]!r}, "
                        f"host has {actual[name][part]!r}"
                    )
        return problems


def owned_view(obj: Json) -> Json:
    meta = obj.get("metadata") or {}
    return {
        "name": meta.get("name"),
        "labels": meta.get("labels") or {},
        "annotations": meta.get("annotations") or {},
        "spec": obj.get("spec") or {},
    }


def host_copies(host: KubeSim) -> dict[str, Json]:
    found = host.store.list(
        NETPOLS, h.HOST_NAMESPACE, label_selector=f"{markers.MANAGED_BY}={h.VCLUSTER}"
    )
    return {o["metadata"]["name"]: o for o in found if translate.is_owned(o, TARGET)}


def scoping_problems(obj: Json) -> Iterator[str]:
    """Why a host copy could select pods outside this virtual cluster (independent check)."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    virtual_ns = (meta.get("annotations") or {}).get(markers.OBJECT_NAMESPACE)
    spec = obj.get("spec") or {}
    selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
    if selector.get(markers.MANAGED_BY) != h.VCLUSTER:
        yield f"{name}: spec.podSelector lacks {markers.MANAGED_BY}={h.VCLUSTER}"
    if selector.get(markers.NAMESPACE) != virtual_ns:
        yield f"{name}: spec.podSelector lacks {markers.NAMESPACE}={virtual_ns}"
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            for j, peer in enumerate(rule.get(peers_key) or []):
                where = f"{name}: {direction}[{i}].{peers_key}[{j}]"
                if "namespaceSelector" in peer:
                    yield f"{where} has a namespaceSelector"
                if "ipBlock" in peer:
                    continue
                labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
                if labels.get(markers.MANAGED_BY) != h.VCLUSTER:
                    yield f"{where} lacks {markers.MANAGED_BY}={h.VCLUSTER}"


class HostObserver:
    """Subscribed to the host's NetworkPolicy storage: sees every change as it happens."""

    def __init__(self, virtual: KubeSim, host: KubeSim) -> None:
        self.virtual = virtual
        self.host = host
        self.foreign: dict[str, str] = {}
        """Foreign host policies by name, with the resourceVersion they must keep."""
        self.allowed_deletes: set[str] = set()
        """Host copies the campaign itself deletes (tampering)."""
        self.events = {"ADDED": 0, "MODIFIED": 0, "DELETED": 0}
        self.live_deletes: list[str] = []
        self.unscoped: list[str] = []
        self.foreign_touched: list[str] = []
        self.last_change = time.monotonic()

    def offer(self, event: Event) -> None:
        namespace, name = event.entry.key
        if namespace != h.HOST_NAMESPACE:
            return
        self.events[event.type] = self.events.get(event.type, 0) + 1
        self.last_change = time.monotonic()
        if name in self.foreign:
            self.foreign_touched.append(f"{event.type} {name}")
            return
        obj = json.loads(event.entry.raw)
        if event.type == "DELETED":
            if translate.is_owned(obj, TARGET):
                self._check_delete(name, obj)
            return
        # Only the syncer (and the campaign's own tampering, which stays scoped) writes here.
        if not translate.is_owned(obj, TARGET):
            self.unscoped.append(f"{name}: written without this syncer's ownership markers")
        self.unscoped.extend(scoping_problems(obj))

    def _check_delete(self, name: str, obj: Json) -> None:
        if name in self.allowed_deletes:
            self.allowed_deletes.discard(name)
            return
        annotations = obj["metadata"].get("annotations") or {}
        source = self.virtual.store.find(
            NETPOLS,
            annotations.get(markers.OBJECT_NAMESPACE, ""),
            annotations.get(markers.OBJECT_NAME, ""),
        )
        if source is not None and source["metadata"]["uid"] == annotations.get(markers.OBJECT_UID):
            self.live_deletes.append(f"{name} (virtual rv {source['metadata']['resourceVersion']})")


def _foreign_objects() -> list[Json]:
    """Host policies in the namespace that are not this syncer's (SPEC §3 Ownership)."""
    hand_written = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "admin-deny-all", "namespace": h.HOST_NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    source = _policy(random.Random(0), "team-0", "web")
    source["metadata"]["uid"] = "0f0f0f0f-0000-4000-8000-000000000000"
    other = dict(translate.to_host(source, translate.Target("other", h.HOST_NAMESPACE)))  # type: ignore[arg-type]
    impostor = copy.deepcopy(dict(translate.to_host(source, TARGET)))  # type: ignore[arg-type]
    impostor["metadata"]["name"] = "impostor"
    return [hand_written, other, impostor]


async def _false() -> bool:
    return False


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
