"""The metrics server answers /metrics, /healthz and /readyz from its injected collaborators."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest
from prometheus_client import parser

from syncer.runtime import metrics, serving


class Probes:
    """Controller stand-in whose health and readiness a test sets directly."""

    def __init__(self) -> None:
        self.healthy: dict[str, Any] = {"virtual-informer": {"ok": True, "idle_seconds": 1.5}}
        self.ready_checks: dict[str, Any] = {"virtual-informer": False, "host-informer": False}

    def health(self) -> tuple[bool, Mapping[str, Any]]:
        """Passes unless a check is marked failing."""
        return True, self.healthy

    def ready(self) -> tuple[bool, Mapping[str, Any]]:
        """Passes once every informer has listed."""
        return all(self.ready_checks.values()), self.ready_checks


@pytest.fixture
def probes() -> Probes:
    """Healthy, not yet ready."""
    return Probes()


@pytest.fixture
async def server(probes: Probes) -> AsyncIterator[serving.Server]:
    """A server on an ephemeral loopback port."""
    m = metrics.Metrics()
    m.observe_reconcile("created", 0.01)
    async with serving.Server(
        "127.0.0.1:0", metrics=m, health=probes.health, ready=probes.ready
    ) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session."""
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str, str]:
    """Status, content type and body text of a GET."""
    async with http.get(url, headers=headers) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_bound_port_is_readable_back(server: serving.Server) -> None:
    """Port 0 binds a real port that the server reports."""
    assert server.port > 0
    assert server.addresses == [("127.0.0.1", server.port)]
    assert server.url == f"http://127.0.0.1:{server.port}"


async def test_metrics_are_served_in_text_format(
    server: serving.Server, http: aiohttp.ClientSession
) -> None:
    """/metrics is 200 with the Prometheus text content type and parses."""
    status, content_type, body = await get(http, server.url + "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    names = {f.name for f in parser.text_string_to_metric_families(body)}
    assert {"netpol_syncer_reconcile", "netpol_syncer_build_info"} <= names
    assert 'netpol_syncer_reconcile_total{result="created"} 1.0' in body


async def test_metrics_honour_an_openmetrics_accept_header(
    server: serving.Server, http: aiohttp.ClientSession
) -> None:
    """A scraper that asks for OpenMetrics gets OpenMetrics."""
    status, content_type, body = await get(
        http, server.url + "/metrics", Accept="application/openmetrics-text; version=1.0.0"
    )
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")


async def test_healthz_passes_while_checks_pass(
    server: serving.Server, http: aiohttp.ClientSession
) -> None:
    """/healthz is 200 with a JSON body carrying each check's detail."""
    status, content_type, body = await get(http, server.url + "/healthz")
    assert (status, content_type) == (200, "application/json; charset=utf-8")
    assert json.loads(body) == {
        "status": "ok",
        "failed": [],
        "checks": {"virtual-informer": {"ok": True, "idle_seconds": 1.5}},
    }


async def test_healthz_fails_naming_a_stuck_watch(
    server: serving.Server, probes: Probes, http: aiohttp.ClientSession
) -> None:
    """A check reporting a watch without progress makes /healthz 503 and names that check."""
    probes.healthy["host-informer"] = {"ok": False, "idle_seconds": 950.0}
    status, _, body = await get(http, server.url + "/healthz")
    assert status == 503
    parsed = json.loads(body)
    assert parsed["status"] == "failed"
    assert parsed["failed"] == ["host-informer"]
    assert parsed["checks"]["host-informer"]["idle_seconds"] == 950.0


async def test_readyz_flips_when_the_informers_have_listed(
    server: serving.Server, probes: Probes, http: aiohttp.ClientSession
) -> None:
    """/readyz is 503 naming the unlisted informers, then 200 once both have listed."""
    status, _, body = await get(http, server.url + "/readyz")
    assert status == 503
    assert json.loads(body)["failed"] == ["host-informer", "virtual-informer"]
    probes.ready_checks["virtual-informer"] = True
    status, _, body = await get(http, server.url + "/readyz")
    assert (status, json.loads(body)["failed"]) == (503, ["host-informer"])
    probes.ready_checks["host-informer"] = True
    status, _, body = await get(http, server.url + "/readyz")
    assert status == 200
    assert json.loads(body)["checks"] == {"virtual-informer": True, "host-informer": True}


async def test_verbose_lists_checks_as_plain_text(
    server: serving.Server, http: aiohttp.ClientSession
) -> None:
    """?verbose answers kube-apiserver style: one [+]/[-] line per check and a verdict."""
    status, content_type, body = await get(http, server.url + "/readyz?verbose")
    assert status == 503
    assert content_type.startswith("text/plain")
    assert body.splitlines() == [
        "[-]host-informer failed",
        "[-]virtual-informer failed",
        "readyz check failed",
    ]
    _, _, body = await get(http, server.url + "/healthz?verbose")
    assert body.splitlines()[0] == '[+]virtual-informer ok: {"idle_seconds": 1.5}'


async def test_a_probe_that_raises_fails_without_a_server_error(
    http: aiohttp.ClientSession,
) -> None:
    """A check that raises makes the probe 503 with a "probe" check, not a 500."""

    def broken() -> tuple[bool, Mapping[str, Any]]:
        raise RuntimeError("informer gone")

    async with serving.Server(
        "127.0.0.1:0", metrics=metrics.Metrics(), health=broken, ready=broken
    ) as srv:
        status, _, body = await get(http, srv.url + "/healthz")
    assert status == 503
    assert json.loads(body)["failed"] == ["probe"]
    assert "informer gone" in body


async def test_unknown_paths_are_not_found(
    server: serving.Server, http: aiohttp.ClientSession
) -> None:
    """Anything but the three endpoints is a 404."""
    status, _, _ = await get(http, server.url + "/debug")
    assert status == 404


async def test_head_requests_are_answered(
    server: serving.Server, http: aiohttp.ClientSession
) -> None:
    """HEAD works on the probes, for tools that check reachability cheaply."""
    async with http.head(server.url + "/healthz") as response:
        assert response.status == 200


async def test_stopping_releases_the_port(probes: Probes) -> None:
    """After the context exits, the port accepts no connections and can be bound again."""
    async with serving.Server(
        "127.0.0.1:0", metrics=metrics.Metrics(), health=probes.health, ready=probes.ready
    ) as srv:
        port = srv.port
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    async with serving.Server(
        f"127.0.0.1:{port}", metrics=metrics.Metrics(), health=probes.health, ready=probes.ready
    ) as again:
        assert again.port == port


async def test_a_busy_port_raises_naming_the_address(
    server: serving.Server, probes: Probes
) -> None:
    """Binding a port in use fails with an OSError that says which address."""
    busy = serving.Server(
        f"127.0.0.1:{server.port}",
        metrics=metrics.Metrics(),
        health=probes.health,
        ready=probes.ready,
    )
    with pytest.raises(OSError, match=f"cannot serve on 127.0.0.1:{server.port}"):
        await busy.start()


async def test_all_interfaces_form_is_reachable_on_loopback(
    probes: Probes, http: aiohttp.ClientSession
) -> None:
    """ ":0" binds every interface; the reported port answers on 127.0.0.1."""
    async with serving.Server(
        ":0", metrics=metrics.Metrics(), health=probes.health, ready=probes.ready
    ) as srv:
        status, _, _ = await get(http, f"http://127.0.0.1:{srv.port}/healthz")
    assert status == 200
