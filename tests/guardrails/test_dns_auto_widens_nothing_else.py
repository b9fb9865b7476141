"""dns: auto over generated clusters: DNS on 53 maps to the endpoint, nothing else changes.

Each generated virtual cluster gains ``kube-system`` with a CoreDNS pod (``k8s-app: kube-dns``,
container ports 53 UDP/TCP). On the host its synced copy listens on 1053, as in a vCluster. For
every tenant pod: egress to the DNS pod on UDP/TCP 1053 is allowed on the host exactly when the
virtual policies allow the DNS pod on 53, or the plain SPEC §3 copy already allowed 1053 (a
tenant port range such as 80-1053 covers it verbatim); every other probe (pods including the DNS
pod, ports, external IPs) gets the same answer as the plain copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import guardrails
import translate
from tests.support import netpol_semantics as sem
from tests.support.strategies import EXTERNAL_IPS, TRAFFIC, host_pods_of, virtual_clusters

VC = "vc1"
HNS = "vc-host"
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}
KUBE_DNS = {
    "spec": {
        "selector": {"k8s-app": "kube-dns"},
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 1053},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 1053},
        ],
    }
}
FACTS = guardrails.facts_from_service(KUBE_DNS, VC, embedded=False)
CONFIG = guardrails.parse({"dns": "auto"})


@dataclass
class World:
    virtual: sem.Cluster
    host: sem.Cluster
    plain: sem.Cluster
    pods: list[tuple[sem.Pod, sem.Pod]]
    dns: tuple[sem.Pod, sem.Pod]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A generated cluster plus CoreDNS, and its host under ``dns: auto``."""
    drawn = draw(virtual_clusters(max_pods=4, max_policies=3, plain_metadata=True))
    coredns = sem.Pod(
        "coredns",
        "kube-system",
        {"k8s-app": "kube-dns"},
        (sem.ContainerPort(53, "UDP", "dns"), sem.ContainerPort(53, "TCP", "dns-tcp")),
    )
    virtual = sem.Cluster(
        {**drawn.namespaces, "kube-system": KUBE_SYSTEM}, [*drawn.pods, coredns], drawn.policies
    )
    host_pods = host_pods_of(virtual, VC, HNS)
    host_dns = host_pods[-1]
    host_dns = sem.Pod(
        host_dns.name,
        host_dns.namespace,
        host_dns.labels,
        (sem.ContainerPort(1053, "UDP", "dns"), sem.ContainerPort(1053, "TCP", "dns-tcp")),
    )
    host_pods[-1] = host_dns
    target = translate.Target(vcluster=VC, host_namespace=HNS)
    policies: list[dict[str, Any]] = []
    plain_policies: list[dict[str, Any]] = []
    for policy in virtual.policies:
        plain = translate.to_host(policy, target)  # type: ignore[arg-type]
        context = guardrails.Context(dns=FACTS)
        policies.append(dict(guardrails.apply(policy, plain, CONFIG, context).policy))  # type: ignore[arg-type]
        plain_policies.append(dict(plain))
    return World(
        virtual,
        sem.Cluster({HNS: {}}, host_pods, policies),
        sem.Cluster({HNS: {}}, host_pods, plain_policies),
        list(zip(virtual.pods, host_pods, strict=True)),
        (coredns, host_dns),
    )


@settings(max_examples=800, deadline=None)
@given(worlds())
def test_dns_on_53_maps_to_the_endpoint_and_nothing_else_widens(w: World) -> None:
    """Host egress to CoreDNS on 1053 = virtual egress to it on 53; all else as the plain copy."""
    dns_v, dns_h = w.dns
    for src_v, src_h in w.pods:
        for protocol in ("UDP", "TCP"):
            want = sem.egress_allowed(w.virtual, src_v, dns_v, protocol, 53) or (
                sem.egress_allowed(w.plain, src_h, dns_h, protocol, 1053)
            )
            got = sem.egress_allowed(w.host, src_h, dns_h, protocol, 1053)
            assert got == want, f"{src_v} -> coredns {protocol}: virtual 53 {want}, host 1053 {got}"
        for _, dst_h in w.pods:
            if src_h is dst_h:
                continue
            for protocol, port in TRAFFIC:
                want = sem.allowed(w.plain, src_h, dst_h, protocol, port)
                got = sem.allowed(w.host, src_h, dst_h, protocol, port)
                assert got == want, f"{src_h} -> {dst_h} {protocol}/{port}: {want=} {got=}"
        for ip in EXTERNAL_IPS:
            for protocol, port in TRAFFIC:
                want = sem.egress_allowed(w.plain, src_h, sem.External(ip), protocol, port)
                got = sem.egress_allowed(w.host, src_h, sem.External(ip), protocol, port)
                assert got == want, f"{src_v} -> {ip} {protocol}/{port}: {want=} {got=}"
