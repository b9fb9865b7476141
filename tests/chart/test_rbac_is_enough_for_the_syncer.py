"""The chart's Role is exactly enough: the real syncer, holding only those rules, is never
denied through a full lifecycle (owner references on the vCluster's Service included), and
losing any single permission breaks it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubesim.testing import network_policy, wait_for
from syncer.commands import running
from syncer.configuration import settings
from tests.chart.conftest import Render
from tests.chart.manifests import flags, the_container
from tests.support import backends
from translate import Target, service_owner_reference, to_host

TOKEN = "netpol-syncer"
NAMESPACE = "vcluster-shop"
VCLUSTER = "shop"

JsonObject = dict[str, Any]


def _chart_role(render: Render) -> tuple[JsonObject, str]:
    """The Role and lease name the chart renders in HA sidecar mode (leader election on)."""
    release = render({"vcluster": {"replicas": 2}})
    role = copy.deepcopy(release.one("Role"))
    role["metadata"]["namespace"] = NAMESPACE
    return role, flags(the_container(release))["--leader-elect-resource-name"]


async def _lifecycle(role: JsonObject, lease: str, tmp_path: Path, backend: str) -> list[str]:
    """Run the syncer through start, orphan collection, create (owned by the vCluster's
    Service), update, repair, delete and shutdown with only ``role`` on the host; return every
    denied request.

    On the real backend the host authorizes with kube-apiserver's RBAC: the token's user is
    bound to exactly ``role`` by a RoleBinding."""
    target = Target(vcluster=VCLUSTER, host_namespace=NAMESPACE)
    async with (
        backends.server(backend, "virtual", namespaces=["default", "team-a"]) as virtual,
        backends.server(
            backend, "rbac-host", namespaces=["default", NAMESPACE], rbac={TOKEN: role}
        ) as host,
    ):
        orphan = to_host(network_policy("gone", "team-a"), target)
        host.store.create(orphan)
        # Occupies the host name of virtual "taken" but is not ours: the create gets 409 and
        # the syncer reads the object to tell a race from a collision.
        foreign = network_policy("taken-x-team-a-x-shop", NAMESPACE)
        host.store.create(foreign)
        service = host.store.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": VCLUSTER, "namespace": NAMESPACE},
                "spec": {"ports": [{"port": 443, "targetPort": 8443}]},
            }
        )
        owner = [service_owner_reference(VCLUSTER, service["metadata"]["uid"])]
        options = settings.Settings(
            name=VCLUSTER,
            host_namespace=NAMESPACE,
            virtual_kubeconfig=str(virtual.write_kubeconfig(tmp_path / "virtual")),
            host_kubeconfig=str(host.write_kubeconfig(tmp_path / "host", token=TOKEN)),
            metrics_address="127.0.0.1:0",
            leader_elect=True,
            leader_elect_resource_name=lease,
            leader_elect_lease_duration=1.5,
            leader_elect_renew_deadline=1.0,
            leader_elect_retry_period=0.2,
            virtual_qps=500,
            virtual_burst=500,
            host_qps=500,
            host_burst=500,
        )
        syncer = running.Syncer(options)
        stop = asyncio.Event()
        task = asyncio.create_task(syncer.run(stop))

        def names() -> set[str]:
            return {o["metadata"]["name"] for o in host.store.list("networkpolicies", NAMESPACE)}

        def collided() -> bool:
            return any(
                e["reason"] == "HostNameCollision" for e in virtual.store.list("events", "team-a")
            )

        def denied() -> list[str]:
            return [f"{d.verb} {d.resource} {d.name or ''}".strip() for d in host.denied]

        def labelled() -> bool:
            copy_ = host.store.find("networkpolicies", NAMESPACE, "web-x-team-a-x-shop")
            return bool(copy_ and copy_["metadata"].get("labels", {}).get("tier"))

        def owned() -> bool:
            copy_ = host.store.find("networkpolicies", NAMESPACE, "web-x-team-a-x-shop")
            return bool(copy_ and copy_["metadata"].get("ownerReferences") == owner)

        def relabel() -> None:
            web = virtual.store.get("networkpolicies", "team-a", "web")
            web["metadata"]["labels"] = {"tier": "frontend"}
            virtual.store.update(web)

        # (what to do, what must then become true); a denial ends the lifecycle early.
        steps: list[tuple[Callable[[], object], Callable[[], bool]]] = [
            (lambda: None, lambda: "gone-x-team-a-x-shop" not in names()),
            (
                lambda: virtual.store.create(network_policy("web", "team-a")),
                owned,
            ),
            (lambda: virtual.store.create(network_policy("taken", "team-a")), collided),
            (relabel, labelled),
            (
                lambda: host.store.delete("networkpolicies", NAMESPACE, "web-x-team-a-x-shop"),
                lambda: "web-x-team-a-x-shop" in names(),
            ),
            (
                lambda: virtual.store.delete("networkpolicies", "team-a", "web"),
                lambda: names() == {foreign["metadata"]["name"]},
            ),
        ]
        try:
            for act, done in steps:
                act()
                await wait_for(lambda done=done: done() or bool(denied()), timeout=6)
                if denied():
                    break
        except AssertionError:
            pass  # a missing permission shows up as a denial below, or as a stuck step
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                assert await task == 0
        lease_obj = host.store.find("leases", NAMESPACE, lease)
        if not denied() and (lease_obj is None or lease_obj["spec"].get("holderIdentity")):
            return ["lease was not released"]
        finished = names() == {foreign["metadata"]["name"]} and collided()
        return denied() or ([] if finished else ["lifecycle did not finish"])


@pytest.mark.parametrize("backend", backends.params())
async def test_the_chart_role_is_enough_for_a_whole_lifecycle(
    render: Render, tmp_path: Path, backend: str
) -> None:
    """With only the chart's Role, every step succeeds and no request is ever denied."""
    role, lease = _chart_role(render)
    assert await _lifecycle(role, lease, tmp_path, backend) == []


def _without(role: JsonObject, rule_index: int, verb: str) -> JsonObject:
    smaller = copy.deepcopy(role)
    rule = smaller["rules"][rule_index]
    rule["verbs"] = [v for v in rule["verbs"] if v != verb]
    if not rule["verbs"]:
        del smaller["rules"][rule_index]
    return smaller


@pytest.mark.parametrize(
    ("rule_index", "verb"),
    [
        pytest.param(0, verb, id=f"networkpolicies-{verb}")
        for verb in ("get", "list", "watch", "create", "update", "delete")
    ]
    + [pytest.param(1, "create", id="leases-create")]
    + [pytest.param(2, verb, id=f"leases-{verb}") for verb in ("get", "update")]
    + [pytest.param(3, verb, id=f"services-{verb}") for verb in ("list", "watch")],
)
@pytest.mark.parametrize("backend", backends.params())
async def test_every_permission_in_the_role_is_needed(
    render: Render, tmp_path: Path, rule_index: int, verb: str, backend: str
) -> None:
    """Removing any single verb from the chart's Role makes some step of the lifecycle fail."""
    role, lease = _chart_role(render)
    assert verb in role["rules"][rule_index]["verbs"], "the parameters follow the chart's Role"
    problems = await _lifecycle(_without(role, rule_index, verb), lease, tmp_path, backend)
    assert problems, f"the syncer never needed {verb} from rule {role['rules'][rule_index]}"
