"""The syncer never exits because an input is not there yet (issue 11, item 1): it waits for the
virtual kubeconfig file, for the APIs to answer and for RBAC, saying on ``/readyz`` and the
``waiting`` gauge what it waits for, and follows a rotated kubeconfig without restarting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from kubesim import KubeSim
from tests.support.harness import (
    HOST_NAMESPACE,
    Clusters,
    Outage,
    Run,
    create,
    host_copies,
    network_policy,
    wait_converged,
    wait_for,
)

EVERYTHING = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]


async def _readyz(run: Run) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(run.url + "/readyz") as response:
        return response.status, await response.json()


async def _waiting(run: Run) -> dict[str, float]:
    samples = await run.metrics()
    return {
        dict(labels)["for"]: value
        for (name, labels), value in samples.values.items()
        if name == "netpol_syncer_waiting" and value
    }


async def _waits_for(run: Run, what: str) -> None:
    async def reported() -> bool:
        status, body = await _readyz(run)
        return status == 503 and body["failed"] == [what] and await _waiting(run) == {what: 1}

    await wait_for(reported, timeout=10, message=f"/readyz and the gauge never named {what}")
    assert await run.probe("/healthz") == 200


async def _is_ready(run: Run) -> None:
    await run.wait_ready()
    status, body = await _readyz(run)
    assert (status, body["failed"]) == (200, [])
    assert await _waiting(run) == {}


async def test_a_virtual_kubeconfig_written_after_start_is_picked_up(clusters: Clusters) -> None:
    """Started before its virtual kubeconfig exists, the syncer reports the wait and syncs as
    soon as the file is written, without restarting."""
    create(clusters.virtual, network_policy("a"))
    late = clusters.workdir / "written-later.kubeconfig"
    run = clusters.run(virtual_kubeconfig=str(late))
    async with run:
        await _waits_for(run, "virtual-kubeconfig")
        _, body = await _readyz(run)
        assert str(late) in body["checks"]["virtual-kubeconfig"]["waiting"]
        clusters.virtual.write_kubeconfig(late)
        await wait_converged(clusters)
        await _is_ready(run)
        assert run.exit_code is None
    assert run.exit_code == 0


async def test_an_api_that_does_not_answer_yet_is_waited_for(clusters: Clusters) -> None:
    """While the virtual API refuses connections /readyz names it; once it is up the syncer
    lists and syncs."""
    create(clusters.virtual, network_policy("a"))
    async with Outage(clusters.virtual) as outage, clusters.run() as run:
        await _waits_for(run, "virtual-api")
        await outage.end()
        await wait_converged(clusters)
        await _is_ready(run)
    assert run.exit_code == 0


async def test_missing_host_rbac_is_waited_for_until_granted(tmp_path: Path) -> None:
    """A host that answers 403 to the initial list is retried, not fatal; once the Role is
    bound the syncer lists and syncs."""
    async with (
        KubeSim(bookmark_interval=0.2) as virtual,
        KubeSim(
            bookmark_interval=0.2,
            namespaces=["default", HOST_NAMESPACE],
            rbac={"syncer": []},
        ) as host,
    ):
        clusters = Clusters(virtual=virtual, host=host, workdir=tmp_path)
        create(virtual, network_policy("a"))
        kubeconfig = host.write_kubeconfig(tmp_path / "host-token.kubeconfig", token="syncer")
        async with clusters.run(host_kubeconfig=str(kubeconfig)) as run:
            await _waits_for(run, "host-rbac")
            assert host.denied, "the host never refused a request"
            host.grant("syncer", EVERYTHING)
            await wait_converged(clusters)
            await _is_ready(run)
        assert run.exit_code == 0


async def test_a_kubeconfig_rotated_to_new_credentials_resumes_the_watch(tmp_path: Path) -> None:
    """New credentials in the virtual kubeconfig are used from then on (the old token can be
    revoked), and the watch resumes without listing again."""
    async with (
        KubeSim(bookmark_interval=0.2, rbac={"old": EVERYTHING, "new": EVERYTHING}) as virtual,
        KubeSim(bookmark_interval=0.2, namespaces=["default", HOST_NAMESPACE]) as host,
    ):
        clusters = Clusters(virtual=virtual, host=host, workdir=tmp_path)
        path = virtual.write_kubeconfig(tmp_path / "rotated.kubeconfig", token="old")
        create(virtual, network_policy("a"))
        run = clusters.run(virtual_kubeconfig=str(path))
        run.syncer.kubeconfig_poll = 0.1
        async with run:
            await wait_converged(clusters)
            virtual.write_kubeconfig(path, token="new")
            await wait_for(lambda: run.syncer.watches["virtual"].reconnects == 1, timeout=10)
            virtual.grant("old", [])  # revoked: any request still using it is refused
            create(virtual, network_policy("b"))
            await wait_converged(clusters)
            assert [d for d in virtual.denied if d.user == "old"] == []
            assert virtual.counters["list", "networkpolicies"] == 1
        assert run.exit_code == 0


async def test_a_kubeconfig_rotated_to_another_server_relists_it(clusters: Clusters) -> None:
    """A virtual kubeconfig that now names another API server is followed: the syncer lists
    that server and the host copies follow its policies."""
    create(clusters.virtual, network_policy("a"))
    async with KubeSim(bookmark_interval=0.2) as second:
        create(second, network_policy("b"))
        run = clusters.run()
        run.syncer.kubeconfig_poll = 0.1
        async with run:
            await wait_converged(clusters)
            second.write_kubeconfig(run.options.virtual_kubeconfig)
            moved = Clusters(virtual=second, host=clusters.host, workdir=clusters.workdir)
            await wait_converged(moved)
            assert set(host_copies(clusters.host)) == {"b-x-default-x-vc"}
            create(second, network_policy("c"))
            await wait_converged(moved)
        assert run.exit_code == 0


async def test_an_informer_refused_for_good_after_its_list_fails_healthz(tmp_path: Path) -> None:
    """Credentials that stop working after the initial list (a rotation to a token the API
    does not know: 401 on every attempt) fail /healthz once the bound passes, naming the
    informer; accepted again, /healthz recovers. The process never exits on its own."""
    async with (
        KubeSim(bookmark_interval=0.2) as virtual,
        KubeSim(
            bookmark_interval=0.2,
            namespaces=["default", HOST_NAMESPACE],
            rbac={"syncer": EVERYTHING},
        ) as host,
    ):
        clusters = Clusters(virtual=virtual, host=host, workdir=tmp_path)
        create(virtual, network_policy("a"))
        path = host.write_kubeconfig(tmp_path / "host-token.kubeconfig", token="syncer")
        run = clusters.run(host_kubeconfig=str(path))
        run.syncer.kubeconfig_poll = 0.1
        run.syncer.informer_fail_after = 1.0
        async with run:
            await wait_converged(clusters)
            host.write_kubeconfig(path, token="unknown")

            async def unhealthy() -> bool:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(run.url + "/healthz") as response,
                ):
                    body = await response.json()
                    return response.status == 503 and body["failed"] == ["host-informer"]

            await wait_for(unhealthy, timeout=15, message="/healthz never failed")
            host.grant("unknown", EVERYTHING)

            async def healthy() -> bool:
                return await run.probe("/healthz") == 200

            await wait_for(healthy, timeout=40, message="/healthz never recovered")
            assert run.exit_code is None
        assert run.exit_code == 0
