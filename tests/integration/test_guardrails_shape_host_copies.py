"""The ``guardrails`` block of the config file, run for real (SPEC §9; issue 14): a blocked
range is carved out of the tenant's ipBlock and the tenant is told once; an unapproved host
peer keeps the last good copy with a Warning and its own error reason; ``dns: auto`` allows the
real DNS endpoint and follows the virtual kube-dns Service. What ``run`` writes is what
``netpol-syncer translate`` prints for the same config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.harness import (
    Clusters,
    RequestLog,
    create,
    edit,
    events_for,
    host_copies,
    network_policy,
    owned_view,
    translate_cli,
    wait_converged,
    wait_for,
    writes,
)
from translate import markers

HOST = "web-x-default-x-vc"
GUARDRAILS = """\
guardrails:
  dns: auto
  blockedCIDRs: [169.254.169.254/32]
  hostPeers:
    ingress-nginx:
      namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: ingress-nginx}
"""
EVERYWHERE = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
DNS_ON_53 = [
    {
        "to": [
            {
                "namespaceSelector": {},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}],
    }
]


def _config(tmp_path: Path, text: str = GUARDRAILS) -> Path:
    path = tmp_path / "vcluster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _kube_dns(target_port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {
            "selector": {"k8s-app": "kube-dns"},
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": target_port},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": target_port},
            ],
        },
    }


def _host_spec(clusters: Clusters) -> dict[str, Any] | None:
    found = host_copies(clusters.host).get(HOST)
    return None if found is None else found["spec"]


def _dns_ports(clusters: Clusters) -> list[Any]:
    """Ports of host egress rules that go to the synced CoreDNS pods on the real port."""
    spec = _host_spec(clusters) or {}
    return [
        port["port"]
        for rule in spec.get("egress", [])
        for port in rule.get("ports", [])
        if any(
            (peer.get("podSelector") or {}).get("matchLabels", {}).get(markers.NAMESPACE)
            == "kube-system"
            for peer in rule.get("to", [])
        )
    ]


async def test_a_blocked_range_is_carved_out_and_the_tenant_told_once(
    clusters: Clusters, tmp_path: Path
) -> None:
    """A tenant ipBlock 0.0.0.0/0 excepts the metadata endpoint on the host; one Normal
    ``PolicyNarrowed`` event says so, and stays one when the policy syncs again unchanged in
    that respect. The host copy is exactly what ``translate`` prints for the same config."""
    config_path = _config(tmp_path)
    create(clusters.virtual, _kube_dns(1053))
    virtual = create(clusters.virtual, network_policy("web", egress=EVERYWHERE))
    async with clusters.run(config_path=str(config_path)) as run:
        await wait_for(lambda: _host_spec(clusters) is not None, timeout=20)
        block = _host_spec(clusters)["egress"][0]["to"][0]["ipBlock"]  # type: ignore[index]
        assert block == {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}
        events = await wait_for(lambda: events_for(clusters.virtual, virtual, "PolicyNarrowed"))
        assert events[0]["type"] == "Normal"
        assert "169.254.169.254/32" in events[0]["message"], events[0]["message"]

        printed = await translate_cli([virtual], config_path)
        assert owned_view(host_copies(clusters.host)[HOST]) == printed[HOST]

        # A label change syncs again with the same narrowing: no second event.
        edit(clusters.virtual, "default", "web", lambda o: o["metadata"].update(labels={"a": "b"}))
        await wait_for(
            lambda: host_copies(clusters.host)[HOST]["metadata"]["labels"].get("a") == "b"
        )
        metrics = await run.metrics()
        assert (
            metrics.value("netpol_syncer_events_total", type="Normal", reason="PolicyNarrowed") == 1
        )


async def test_an_unknown_host_peer_keeps_the_last_good_copy(
    clusters: Clusters, tmp_path: Path
) -> None:
    """A reference to an approved host peer becomes the admin's selector; one to a name the
    admin never approved is refused: Warning event, ``HostPeerRefused`` counted, copy kept."""
    config_path = _config(tmp_path)

    def ingress_from(name: str) -> list[dict[str, Any]]:
        selector = {"matchLabels": {"netpol-syncer.io/host-peer": name}}
        return [{"from": [{"namespaceSelector": selector}]}]

    create(clusters.virtual, _kube_dns(1053))
    create(clusters.virtual, network_policy("web", ingress=ingress_from("ingress-nginx")))
    async with clusters.run(config_path=str(config_path)) as run:
        await wait_for(lambda: _host_spec(clusters) is not None, timeout=20)
        good = host_copies(clusters.host)[HOST]
        assert good["spec"]["ingress"][0]["from"] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ]

        virtual = edit(
            clusters.virtual,
            "default",
            "web",
            lambda o: o["spec"].update(ingress=ingress_from("monitoring")),
        )
        events = await wait_for(lambda: events_for(clusters.virtual, virtual, "SyncError"))
        assert events[0]["type"] == "Warning"
        assert "monitoring" in events[0]["message"], events[0]["message"]
        metrics = await run.metrics()
        assert metrics.value("netpol_syncer_errors_total", reason="HostPeerRefused") == 1
        assert host_copies(clusters.host)[HOST] == good


async def test_dns_auto_follows_the_kube_dns_service(clusters: Clusters, tmp_path: Path) -> None:
    """ "Allow UDP 53 to kube-dns" also allows the CoreDNS pods on their real port (1053); when
    the virtual Service's targetPort changes, the host copy follows, and only that rule."""
    config_path = _config(tmp_path)
    requests = RequestLog(clusters.virtual)
    create(clusters.virtual, _kube_dns(1053))
    create(clusters.virtual, network_policy("web", egress=DNS_ON_53))
    async with clusters.run(config_path=str(config_path)):
        await wait_for(lambda: _dns_ports(clusters) == [1053], timeout=20)
        assert {r.verb for r in requests.requests if r.resource == "services"} >= {"list"}
        egress = _host_spec(clusters)["egress"]  # type: ignore[index]
        assert len(egress) == 2
        assert egress[0]["ports"] == [{"protocol": "UDP", "port": 53}]
        assert egress[1]["ports"] == [{"protocol": "UDP", "port": 1053}]

        service = clusters.virtual.store.get("services", "kube-system", "kube-dns")
        for port in service["spec"]["ports"]:
            port["targetPort"] = 5353
        clusters.virtual.store.update(service)
        await wait_for(lambda: _dns_ports(clusters) == [5353], timeout=20)
        assert len(_host_spec(clusters)["egress"]) == 2  # type: ignore[index]


async def test_without_dns_auto_port_53_is_copied_as_written(
    clusters: Clusters, tmp_path: Path
) -> None:
    """Guardrails without ``dns: auto`` leave a DNS rule as SPEC §3 translates it."""
    config_path = _config(tmp_path, "guardrails: {blockedCIDRs: [169.254.169.254/32]}\n")
    create(clusters.virtual, _kube_dns(1053))
    virtual = create(clusters.virtual, network_policy("web", egress=DNS_ON_53))
    async with clusters.run(config_path=str(config_path)):
        await wait_for(lambda: _host_spec(clusters) is not None, timeout=20)
        assert _dns_ports(clusters) == []
        printed = await translate_cli([virtual], config_path)
        assert owned_view(host_copies(clusters.host)[HOST]) == printed[HOST]


async def test_without_a_guardrails_block_nothing_changes(clusters: Clusters) -> None:
    """No block: copies are the plain translation (a DNS rule stays on 53, 0.0.0.0/0 excepts
    nothing), no event is emitted and the virtual kube-dns Service is never read."""
    requests = RequestLog(clusters.virtual)
    create(clusters.virtual, _kube_dns(1053))
    create(clusters.virtual, network_policy("web", egress=EVERYWHERE + DNS_ON_53))
    async with clusters.run() as run:
        await wait_converged(clusters)
        assert _dns_ports(clusters) == []
        metrics = await run.metrics()
        assert (
            metrics.value("netpol_syncer_events_total", type="Normal", reason="PolicyNarrowed") == 0
        )
    assert not [r for r in requests.requests if r.resource == "services"]


async def test_dns_auto_writes_nothing_before_the_kube_dns_service_is_listed(
    clusters: Clusters, tmp_path: Path
) -> None:
    """A copy written before the DNS facts are known would lack the DNS rule (DNS breaks at
    every restart): while the Service cannot be listed the syncer is not ready and writes
    nothing; once it can, the copies carry the rule from their first write."""
    config_path = _config(tmp_path)
    create(clusters.virtual, _kube_dns(1053))
    create(clusters.virtual, network_policy("web", egress=DNS_ON_53))
    clusters.virtual.faults.fail(verb="list", resource="services", status=403)
    async with clusters.run(config_path=str(config_path)) as run:
        await wait_for(lambda: run.syncer.waits()["virtual-rbac"] is not None, timeout=20)
        assert await run.probe("/readyz") == 503
        assert host_copies(clusters.host) == {}
        clusters.virtual.faults.clear()
        await wait_for(lambda: _dns_ports(clusters) == [1053], timeout=30)
        assert writes(clusters.host) == 1
