"""The envelope property of SPEC §9 (``blockedCIDRs``), over 10,000 generated worlds per run.

Each world: a generated virtual cluster (namespaces, labelled pods with named ports, policies),
a set of blocked ranges, and a host where the tenant's pods share the host namespace with plain
pods and where other namespaces hold platform pods (an ingress controller, monitoring) that
belong to no virtual cluster. Host copies are ``translate.to_host`` followed by
``guardrails.apply``. For every tenant pod pair, every tenant pod with every sample external IP
(both directions) and every tenant pod with every host pod outside the vCluster, the host answer
must equal the virtual answer with the blocked addresses removed from every rule
(:func:`netpol_semantics.allowed_within`). Every host copy must also pass the upstream
validation rules and the scoping check with exactly the sanctioned peers.

Drawing a virtual cluster costs several times more than checking it, so each example draws one
virtual cluster and :data:`ENVELOPES_PER_CLUSTER` blocked sets, each a world of its own with its
own host copies: ``EXAMPLES * ENVELOPES_PER_CLUSTER`` = 10,000 worlds in well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import guardrails
import translate
from tests.support import netpol_semantics as sem
from tests.support import netpol_validation
from tests.support.strategies import (
    ENVELOPE_EXTERNAL_IPS,
    blocked_cidr_sets,
    host_pods_of,
    virtual_clusters,
)

VC = "vc1"
HNS = "vc-host"
PLATFORM_NAMESPACES = {
    HNS: {"kubernetes.io/metadata.name": HNS},
    "ingress-nginx": {"kubernetes.io/metadata.name": "ingress-nginx"},
    "monitoring": {"kubernetes.io/metadata.name": "monitoring"},
}
TRAFFIC = (("TCP", 80), ("UDP", 53), ("TCP", 443), ("TCP", 5432))
"""A lean probe set (the equivalence test of SPEC §3 probes more ports on fewer worlds)."""
MANAGED_BY = "vcluster.loft.sh/managed-by"
NAMESPACE = "vcluster.loft.sh/namespace"
EXAMPLES = 1_000
ENVELOPES_PER_CLUSTER = 10


@dataclass
class World:
    """A virtual cluster, one envelope, and the host built from both."""

    virtual: sem.Cluster
    envelope: sem.Envelope
    host: sem.Cluster
    tenant_pods: list[tuple[sem.Pod, sem.Pod]]
    foreign_pods: list[sem.Pod]
    host_policies: list[dict[str, Any]]
    config: guardrails.Guardrails


def platform_pods() -> list[sem.Pod]:
    """Pods outside the vCluster: a plain pod in the host namespace and two platform pods."""
    ports = (sem.ContainerPort(80, "TCP", "http"), sem.ContainerPort(53, "UDP", "dns"))
    return [
        sem.Pod("plain", HNS, {"app": "web"}, ports),
        sem.Pod("controller", "ingress-nginx", {"app": "ingress-nginx"}, ports),
        sem.Pod("prometheus", "monitoring", {"app": "prometheus"}, ports),
    ]


def guarded(virtual: sem.Cluster, config: guardrails.Guardrails) -> list[dict[str, Any]]:
    """Every virtual policy translated and passed through the guardrails."""
    target = translate.Target(vcluster=VC, host_namespace=HNS)
    out = []
    for policy in virtual.policies:
        host = translate.to_host(policy, target)  # type: ignore[arg-type]
        out.append(dict(guardrails.apply(policy, host, config).policy))  # type: ignore[arg-type]
    return out


def baselines(
    virtual: sem.Cluster, copies: list[dict[str, Any]], config: guardrails.Guardrails
) -> list[dict[str, Any]]:
    """``isolation: managed``: every baseline the controller writes for these host copies
    (:func:`guardrails.plan`, namespace baselines and the others baseline)."""
    target = translate.Target(vcluster=VC, host_namespace=HNS)
    host_copies = {
        (p["metadata"]["namespace"], p["metadata"]["name"]): copy
        for p, copy in zip(virtual.policies, copies, strict=True)
    }
    result = guardrails.plan(virtual.policies, host_copies, config, target)  # type: ignore[arg-type]
    assert result.warnings == ()
    return [dict(p) for p in result.policies]


def world(virtual: sem.Cluster, blocked: tuple[str, ...], managed: bool = False) -> World:
    """The host of ``virtual`` under ``blockedCIDRs: blocked`` (and ``isolation: managed``)."""
    config = guardrails.parse(
        {"blockedCIDRs": list(blocked), "isolation": "managed" if managed else "off"}
    )
    tenant_host_pods = host_pods_of(virtual, VC, HNS)
    foreign = platform_pods()
    copies = guarded(virtual, config)
    policies = copies + baselines(virtual, copies, config)
    return World(
        virtual=virtual,
        envelope=sem.Envelope(blocked, managed=managed),
        host=sem.Cluster(PLATFORM_NAMESPACES, [*tenant_host_pods, *foreign], policies),
        tenant_pods=list(zip(virtual.pods, tenant_host_pods, strict=True)),
        foreign_pods=foreign,
        host_policies=policies,
        config=config,
    )


@st.composite
def worlds(draw: st.DrawFn) -> list[World]:
    """One generated virtual cluster under several generated blocked sets."""
    virtual = draw(virtual_clusters(max_pods=4, max_policies=3, plain_metadata=True))
    envelopes = draw(
        st.lists(
            st.tuples(blocked_cidr_sets(), st.booleans()),
            min_size=ENVELOPES_PER_CLUSTER,
            max_size=ENVELOPES_PER_CLUSTER,
        )
    )
    return [world(virtual, blocked, managed) for blocked, managed in envelopes]


def outsider(pod: sem.Pod) -> sem.Pod:
    """A host pod outside the vCluster as the virtual cluster sees it: in no namespace of it."""
    return sem.Pod(name=f"outsider:{pod.name}", namespace="(outside)", labels={}, ports=pod.ports)


def assert_inside_envelope(w: World) -> None:
    """Host answers equal virtual answers with the blocked addresses removed."""
    expect = sem.allowed_within
    for src_v, src_h in w.tenant_pods:
        for dst_v, dst_h in w.tenant_pods:
            if src_v is dst_v:
                continue
            for protocol, port in TRAFFIC:
                want = expect(w.virtual, w.envelope, src_v, dst_v, protocol, port)
                got = sem.allowed(w.host, src_h, dst_h, protocol, port)
                assert got == want, f"{src_v} -> {dst_v} {protocol}/{port}: {want=} {got=}"
        for ip in ENVELOPE_EXTERNAL_IPS:
            external = sem.External(ip)
            for protocol, port in TRAFFIC:
                want = expect(w.virtual, w.envelope, external, src_v, protocol, port)
                got = sem.allowed(w.host, external, src_h, protocol, port)
                assert got == want, f"{ip} -> {src_v} {protocol}/{port}: {want=} {got=}"
                want = expect(w.virtual, w.envelope, src_v, external, protocol, port)
                got = sem.allowed(w.host, src_h, external, protocol, port)
                assert got == want, f"{src_v} -> {ip} {protocol}/{port}: {want=} {got=}"
        for pod in w.foreign_pods:
            seen_as = outsider(pod)
            for protocol, port in TRAFFIC:
                want = sem.ingress_allowed(w.virtual, seen_as, src_v, protocol, port)
                got = sem.ingress_allowed(w.host, pod, src_h, protocol, port)
                assert got == want, f"{pod} -> {src_v} {protocol}/{port}: {want=} {got=}"
                want = sem.egress_allowed(w.virtual, src_v, seen_as, protocol, port)
                got = sem.egress_allowed(w.host, src_h, pod, protocol, port)
                assert got == want, f"{src_v} -> {pod} {protocol}/{port}: {want=} {got=}"


def assert_valid_and_scoped(w: World) -> None:
    """Every host copy is upstream-valid and passes scoping with only the sanctioned peers;
    baselines select only this vCluster's pods (of one namespace, or of the namespaces without
    namespace baselines) and use only sanctioned peers."""
    sanctioned = guardrails.sanctioned_peers(w.config)
    for policy in w.host_policies:
        assert netpol_validation.problems(policy) == [], policy
        if guardrails.BASELINE_ANNOTATION in policy["metadata"]["annotations"]:
            labels = policy["spec"]["podSelector"]["matchLabels"]
            assert labels[MANAGED_BY] == VC
            if policy["metadata"]["labels"][guardrails.BASELINE_LABEL] == "namespace":
                assert labels[NAMESPACE] == policy["metadata"]["labels"][NAMESPACE]
            else:  # others: the vCluster's pods outside the namespaces with baselines
                assert labels == {MANAGED_BY: VC}
                for requirement in policy["spec"]["podSelector"].get("matchExpressions", []):
                    assert (requirement["key"], requirement["operator"]) == (NAMESPACE, "NotIn")
            for rule in [*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])]:
                for peer in rule.get("from", rule.get("to", [])):
                    assert "ipBlock" in peer or peer in sanctioned, peer
            continue
        assert translate.violations(policy, policy, VC, sanctioned_peers=sanctioned) == []
        if not w.config.blocked_cidrs:
            assert translate.violations(policy, policy, VC) == []


@settings(max_examples=EXAMPLES, deadline=None)
@given(worlds())
def test_host_copies_allow_exactly_the_virtual_allows_minus_blocked_addresses(
    ws: list[World],
) -> None:
    """Pod pairs, external IPs and platform pods: host = virtual with blocked addresses removed."""
    for w in ws:
        assert_inside_envelope(w)
        assert_valid_and_scoped(w)
