"""``guardrails: {isolation: managed}`` run for real (SPEC §9; issue 14 item 4).

The syncer writes baseline policies so that the pods no tenant policy selects get the envelope:
they follow every create, update and delete of a tenant policy, never leave a tenant pod
unselected on the host while they do (a host pod selected by no policy is non-isolated: outside
the envelope), are repaired when edited or deleted on the host, are deleted once the setting is
removed, and are never deleted on a stale virtual cache.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import guardrails
import translate
from kubesim import KubeSim
from syncer.configuration import config
from tests.support import netpol_semantics as sem
from tests.support import pod_syncer
from tests.support.harness import (
    HOST_NAMESPACE,
    NETPOLS,
    TARGET,
    VCLUSTER,
    Clusters,
    create,
    edit,
    ensure_namespace,
    host_copies,
    network_policy,
    virtual_policies,
    wait_for,
    writes,
)
from translate import markers

MANAGED = """\
guardrails:
  isolation: managed
  blockedCIDRs: [169.254.169.254/32]
"""
FROM_API = [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]
WEB = "web-x-shop-x-vc"
DB = "db-x-shop-x-vc"
SAMPLE_PODS = (
    ("shop", {"app": "web"}),
    ("shop", {"app": "web", "tier": "front"}),
    ("shop", {"app": "api"}),
    ("shop", {"tier": "db"}),
    ("shop", {}),
    ("default", {"app": "web"}),
    ("late", {"app": "late"}),
)
"""Tenant pods (virtual namespace, labels) whose host copies must always be isolated."""


def _config(tmp_path: Path, text: str = MANAGED, name: str = "vcluster.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rails(path: Path) -> guardrails.Guardrails:
    return config.load(path).guardrails


def _baselines(clusters: Clusters) -> dict[str, dict[str, Any]]:
    """Baselines on the host, by name."""
    found = clusters.host.store.list(
        NETPOLS, HOST_NAMESPACE, label_selector=f"{markers.MANAGED_BY}={VCLUSTER}"
    )
    return {
        p["metadata"]["name"]: p
        for p in found
        if guardrails.BASELINE_LABEL in (p["metadata"].get("labels") or {})
    }


def _expected(clusters: Clusters, rails: guardrails.Guardrails) -> dict[str, Any]:
    """Name -> spec of every baseline :func:`guardrails.plan` asks for, given the virtual
    policies and the host copies as they are now."""
    copies = {}
    for copy in host_copies(clusters.host).values():
        key = translate.virtual_key_of(copy, TARGET)
        assert key is not None
        copies[(key.namespace, key.name)] = copy
    planned = guardrails.plan(virtual_policies(clusters.virtual), copies, rails, TARGET)  # type: ignore[arg-type]
    return {p["metadata"]["name"]: p["spec"] for p in planned.policies}


def _in_step(clusters: Clusters, rails: guardrails.Guardrails) -> bool:
    actual = {name: p["spec"] for name, p in _baselines(clusters).items()}
    return actual == _expected(clusters, rails)


def _namespace_baselines(clusters: Clusters, namespace: str) -> list[str]:
    return sorted(
        name
        for name, p in _baselines(clusters).items()
        if p["metadata"]["labels"].get(markers.NAMESPACE) == namespace
    )


class GapWatch:
    """Checks, at every change of the host's NetworkPolicies (kubesim: synchronously at each
    write; a real server: polled), that every sample tenant pod is selected by some host policy
    in both directions."""

    def __init__(self, clusters: Clusters) -> None:
        self.gaps: list[str] = []
        self.checks = 0
        self._host = clusters.host
        self._pods = [
            sem.Pod(
                name=f"{namespace}/{labels}",
                namespace=HOST_NAMESPACE,
                labels=pod_syncer.host_pod_labels(labels, namespace, {}, VCLUSTER),
                ports=(),
            )
            for namespace, labels in SAMPLE_PODS
        ]
        self._poller: asyncio.Task[None] | None = None

    def __enter__(self) -> GapWatch:
        self.check()
        if isinstance(self._host, KubeSim):
            self._rtype = self._host.store.resource(NETPOLS)
            self._host.storage.subscribe(self._rtype, self)
        else:
            self._poller = asyncio.create_task(self._poll())
        return self

    def __exit__(self, *exc: object) -> None:
        if isinstance(self._host, KubeSim):
            self._host.storage.unsubscribe(self._rtype, self)
        elif self._poller is not None:
            self._poller.cancel()

    def offer(self, event: Any) -> None:
        self.check()

    async def _poll(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(0.005)

    def check(self) -> None:
        self.checks += 1
        policies = self._host.store.list(NETPOLS, HOST_NAMESPACE)
        for pod in self._pods:
            for policy_type in ("Ingress", "Egress"):
                if not any(
                    sem.selects(p, pod) and policy_type in sem.policy_types(p) for p in policies
                ):
                    self.gaps.append(f"{pod.name} not isolated for {policy_type}")

    def assert_clean(self) -> None:
        assert self.checks > 1
        assert not self.gaps, sorted(set(self.gaps))


async def test_baselines_follow_every_tenant_change_without_a_gap(
    clusters: Clusters, tmp_path: Path
) -> None:
    """Create, narrow and delete tenant policies: the baselines always match what the pure
    builder asks for once settled, and no sample tenant pod is ever left unselected on the
    host in either direction, at any write, while the copies and baselines change."""
    path = _config(tmp_path)
    rails = _rails(path)
    ensure_namespace(clusters.virtual, "shop")
    create(
        clusters.virtual,
        network_policy(
            "web", "shop", pod_selector={"matchLabels": {"app": "web"}}, ingress=FROM_API
        ),
    )
    async with clusters.run(config_path=str(path)):
        await wait_for(lambda: WEB in host_copies(clusters.host) and _in_step(clusters, rails))
        before = _namespace_baselines(clusters, "shop")
        assert before, "shop needs baselines for the pods web does not select"
        with GapWatch(clusters) as gaps:
            create(
                clusters.virtual,
                network_policy(
                    "db",
                    "shop",
                    pod_selector={"matchLabels": {"tier": "db"}},
                    egress=[],
                    policy_types=["Ingress", "Egress"],
                ),
            )
            await wait_for(
                lambda: (
                    DB in host_copies(clusters.host)
                    and _in_step(clusters, rails)
                    and _namespace_baselines(clusters, "shop") != before
                )
            )

            # web narrows to app=web,tier=front: app=web pods without the tier fall to the baseline.
            edit(
                clusters.virtual,
                "shop",
                "web",
                lambda o: o["spec"].update(
                    podSelector={"matchLabels": {"app": "web", "tier": "front"}}
                ),
            )
            await wait_for(
                lambda: (
                    host_copies(clusters.host)[WEB]["spec"]["podSelector"]["matchLabels"].get(
                        "tier"
                    )
                    == "front"
                    and _in_step(clusters, rails)
                )
            )

            clusters.virtual.store.delete(NETPOLS, "shop", "web")
            await wait_for(
                lambda: WEB not in host_copies(clusters.host) and _in_step(clusters, rails)
            )

            # The last policy of shop: its namespace baselines go, the others baseline takes it.
            clusters.virtual.store.delete(NETPOLS, "shop", "db")
            await wait_for(
                lambda: (
                    not host_copies(clusters.host)
                    and _in_step(clusters, rails)
                    and not _namespace_baselines(clusters, "shop")
                )
            )
        gaps.assert_clean()
        others = [
            p
            for p in _baselines(clusters).values()
            if markers.NAMESPACE not in p["metadata"]["labels"]
        ]
        assert len(others) == 2
        for policy in others:
            assert "matchExpressions" not in policy["spec"]["podSelector"]


async def test_turning_isolation_off_deletes_every_baseline(
    clusters: Clusters, tmp_path: Path
) -> None:
    """A restart with the setting removed (and with no guardrails block at all) deletes every
    baseline and keeps the tenant copies."""
    path = _config(tmp_path)
    rails = _rails(path)
    create(
        clusters.virtual,
        network_policy("web", pod_selector={"matchLabels": {"app": "web"}}, ingress=FROM_API),
    )
    async with clusters.run(config_path=str(path)):
        await wait_for(lambda: _baselines(clusters) and _in_step(clusters, rails))
    off = _config(tmp_path, "guardrails: {blockedCIDRs: [169.254.169.254/32]}\n", "off.yaml")
    async with clusters.run(config_path=str(off)):
        await wait_for(lambda: not _baselines(clusters))
        assert list(host_copies(clusters.host)) == ["web-x-default-x-vc"]

    async with clusters.run(config_path=str(path)):
        await wait_for(lambda: _baselines(clusters) and _in_step(clusters, rails))
    async with clusters.run():
        await wait_for(lambda: not _baselines(clusters))
        assert list(host_copies(clusters.host)) == ["web-x-default-x-vc"]


async def test_baselines_changed_on_the_host_are_repaired(
    clusters: Clusters, tmp_path: Path
) -> None:
    """A baseline opened up on the host is put back, a deleted one is recreated, and both count
    as drift repairs."""
    path = _config(tmp_path)
    rails = _rails(path)
    create(
        clusters.virtual,
        network_policy("web", pod_selector={"matchLabels": {"app": "web"}}, ingress=FROM_API),
    )
    async with clusters.run(config_path=str(path)) as run:
        await wait_for(lambda: _baselines(clusters) and _in_step(clusters, rails))
        first, second = sorted(_baselines(clusters))[:2]
        opened = _baselines(clusters)[first]
        direction = opened["metadata"]["annotations"][guardrails.BASELINE_ANNOTATION]
        opened["spec"][direction] = [{}]
        clusters.host.store.update(opened)
        clusters.host.store.delete(NETPOLS, HOST_NAMESPACE, second)
        await wait_for(
            lambda: (
                second in _baselines(clusters)
                and _in_step(clusters, rails)
                and _baselines(clusters)[first]["spec"][direction] != [{}]
            )
        )
        metrics = await run.metrics()
        assert metrics.value("netpol_syncer_drift_repairs_total", kind="reverted") >= 1
        assert metrics.value("netpol_syncer_drift_repairs_total", kind="recreated") >= 1


async def test_a_stale_cache_never_deletes_a_baseline(clusters: Clusters, tmp_path: Path) -> None:
    """The virtual watch stalls before a policy in a new namespace is created, together with
    the copy and baselines another replica made for it: the baselines look unneeded to this
    replica's cache (their host events enqueue the namespace), but the virtual API still lists
    a policy there, so none is deleted."""
    path = _config(tmp_path)
    rails = _rails(path)
    async with clusters.run(config_path=str(path)) as run:
        await run.wait_ready()
        await wait_for(lambda: _baselines(clusters) and _in_step(clusters, rails))
        await wait_for(lambda: clusters.virtual.faults.stall_watches(NETPOLS) >= 1)
        ensure_namespace(clusters.virtual, "late")
        virtual = create(
            clusters.virtual,
            network_policy("late", "late", pod_selector={"matchLabels": {"app": "late"}}),
        )
        copy = translate.to_host(virtual, TARGET)  # type: ignore[arg-type]
        clusters.host.store.create(dict(copy))
        exempt = guardrails.exemptions([virtual], {"late": copy}, TARGET)  # type: ignore[list-item]
        made = guardrails.namespace_baselines("late", exempt, rails, TARGET).policies
        for policy in made:
            clusters.host.store.create(dict(policy))
        names = sorted(p["metadata"]["name"] for p in made)
        deletes = writes(clusters.host, "delete")
        controller = run.syncer.controller
        assert controller is not None
        await wait_for(lambda: len(_namespace_baselines(clusters, "late")) == len(names))
        await asyncio.sleep(1.0)
        assert translate.ObjectKey("late", "late") not in controller.virtual  # still stale
        assert _namespace_baselines(clusters, "late") == names
        assert "late-x-late-x-vc" in host_copies(clusters.host)
        assert writes(clusters.host, "delete") == deletes
