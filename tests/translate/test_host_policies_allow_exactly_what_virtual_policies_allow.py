"""Semantic equivalence, the strongest check of SPEC §3.

Random virtual clusters (namespaces with labels, pods with labels and named container ports,
policies) are mirrored onto the host exactly as SPEC §3 "How host pods look" says: every tenant
pod lands in ONE host namespace with translated labels, scoping labels and its namespace's labels.
The host namespace is shared with a second virtual cluster ("other", with its own policies
translated by its own syncer) and with plain host pods that belong to no virtual cluster, some of
them carrying a tenant pod's labels minus the ``managed-by`` marker.

The evaluator in :mod:`tests.support.netpol_semantics` then answers, in both worlds:

- every ordered pair of tenant pods, for a sample of protocols and ports: same answer;
- every tenant pod with every sample external IP, both directions: same answer;
- the same for the other virtual cluster's pods (its syncer runs the same code);
- foreign pods: our host policies never select them, so whatever they allow or refuse is what
  they allowed or refused before our policies existed; and to our policies a foreign pod is an
  outsider that only peerless rules admit, just as a non-tenant pod is in the virtual cluster.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import translate
from tests.support import netpol_semantics as sem
from tests.support import pod_syncer
from tests.support.strategies import (
    EXTERNAL_IPS,
    POD_LABEL_KEYS,
    POD_LABEL_VALUES,
    TRAFFIC,
    host_pods_of,
    virtual_clusters,
)

VC = "vc1"
OTHER = "other"
HNS = "shared-host"


@dataclass
class Worlds:
    """One generated scenario: two virtual clusters and the host namespace they share."""

    tenant: sem.Cluster
    other: sem.Cluster
    host: sem.Cluster
    before: sem.Cluster
    """The host without this tenant's policies: what foreign pods saw before we synced."""
    tenant_pods: list[tuple[sem.Pod, sem.Pod]]
    """(virtual pod, host pod) for this tenant."""
    other_pods: list[tuple[sem.Pod, sem.Pod]]
    plain_pods: list[sem.Pod]
    our_host_policies: list[dict[str, Any]]


def _translate_all(cluster: sem.Cluster, vcluster: str) -> list[dict[str, Any]]:
    target = translate.Target(vcluster=vcluster, host_namespace=HNS)
    return [translate.to_host(p, target) for p in cluster.policies]  # type: ignore[arg-type,misc]


PLAIN_LABELS = st.dictionaries(
    st.sampled_from([*POD_LABEL_KEYS, pod_syncer.NAMESPACE]), st.sampled_from(POD_LABEL_VALUES)
)


@st.composite
def plain_host_pods(draw: st.DrawFn, imitate: list[sem.Pod]) -> list[sem.Pod]:
    """Host pods of no virtual cluster: random labels, or a tenant host pod's minus the marker."""
    pods: list[sem.Pod] = []
    for i in range(draw(st.integers(0, 2))):
        if len(imitate) > 0 and draw(st.booleans()):
            model = imitate[draw(st.integers(0, len(imitate) - 1))]
            labels = {k: v for k, v in model.labels.items() if k != pod_syncer.MANAGED_BY}
        else:
            labels = draw(PLAIN_LABELS)
        ports = (sem.ContainerPort(80, "TCP", "http"), sem.ContainerPort(53, "UDP", "dns"))
        pods.append(sem.Pod(name=f"plain{i}", namespace=HNS, labels=labels, ports=ports))
    return pods


@st.composite
def worlds(draw: st.DrawFn) -> Worlds:
    """A tenant cluster, another tenant's cluster, plain pods, and the host built from them."""
    tenant = draw(virtual_clusters())
    other = draw(virtual_clusters(max_pods=3, max_policies=2))
    tenant_host_pods = host_pods_of(tenant, VC, HNS)
    other_host_pods = host_pods_of(other, OTHER, HNS)
    plain = draw(plain_host_pods(tenant_host_pods))
    ours = _translate_all(tenant, VC)
    theirs = _translate_all(other, OTHER)
    host_namespaces = {HNS: {"kubernetes.io/metadata.name": HNS}}
    all_host_pods = [*tenant_host_pods, *other_host_pods, *plain]
    return Worlds(
        tenant=tenant,
        other=other,
        host=sem.Cluster(host_namespaces, all_host_pods, [*ours, *theirs]),
        before=sem.Cluster(host_namespaces, all_host_pods, theirs),
        tenant_pods=list(zip(tenant.pods, tenant_host_pods, strict=True)),
        other_pods=list(zip(other.pods, other_host_pods, strict=True)),
        plain_pods=plain,
        our_host_policies=ours,
    )


def outsider(pod: sem.Pod) -> sem.Pod:
    """How a pod outside a virtual cluster looks from inside it: same ports, no namespace there."""
    return sem.Pod(name=f"outsider:{pod.name}", namespace="(outside)", labels={}, ports=pod.ports)


def assert_same_as_virtual(
    virtual: sem.Cluster, pods: list[tuple[sem.Pod, sem.Pod]], host: sem.Cluster
) -> None:
    """Every pod pair and every external IP gets the same answer on the host as virtually."""
    for src_v, src_h in pods:
        for dst_v, dst_h in pods:
            if src_v is dst_v:
                continue  # a pod cannot block access to itself: trivially equal
            for protocol, port in TRAFFIC:
                expected = sem.allowed(virtual, src_v, dst_v, protocol, port)
                got = sem.allowed(host, src_h, dst_h, protocol, port)
                assert got == expected, (
                    f"{src_v.namespace}/{src_v.name} -> {dst_v.namespace}/{dst_v.name} "
                    f"{protocol}/{port}: virtual {expected}, host {got}"
                )
        for ip in EXTERNAL_IPS:
            external = sem.External(ip)
            for protocol, port in TRAFFIC:
                expected_in = sem.allowed(virtual, external, src_v, protocol, port)
                got_in = sem.allowed(host, external, src_h, protocol, port)
                assert got_in == expected_in, (
                    f"{ip} -> {src_v.namespace}/{src_v.name} {protocol}/{port}: "
                    f"virtual {expected_in}, host {got_in}"
                )
                expected_out = sem.allowed(virtual, src_v, external, protocol, port)
                got_out = sem.allowed(host, src_h, external, protocol, port)
                assert got_out == expected_out, (
                    f"{src_v.namespace}/{src_v.name} -> {ip} {protocol}/{port}: "
                    f"virtual {expected_out}, host {got_out}"
                )


def assert_foreign_pods_unaffected(w: Worlds) -> None:
    """Our policies select no foreign pod and treat every foreign pod as an outsider."""
    foreign = [h for _, h in w.other_pods] + w.plain_pods
    for policy in w.our_host_policies:
        for pod in foreign:
            assert not sem.selects(policy, pod), f"{policy['metadata']['name']} selects {pod}"
    for pod in foreign:
        for peer in [h for _, h in w.tenant_pods] + foreign:
            if peer is pod:
                continue
            for protocol, port in TRAFFIC:
                # The foreign pod's own side is decided by its own policies only.
                assert sem.ingress_allowed(w.host, peer, pod, protocol, port) == (
                    sem.ingress_allowed(w.before, peer, pod, protocol, port)
                ), f"our policies changed ingress of foreign {pod} from {peer}"
                assert sem.egress_allowed(w.host, pod, peer, protocol, port) == (
                    sem.egress_allowed(w.before, pod, peer, protocol, port)
                ), f"our policies changed egress of foreign {pod} to {peer}"
    for tenant_v, tenant_h in w.tenant_pods:
        for pod in foreign:
            for protocol, port in TRAFFIC:
                expected_in = sem.ingress_allowed(w.tenant, outsider(pod), tenant_v, protocol, port)
                expected_out = sem.egress_allowed(w.tenant, tenant_v, outsider(pod), protocol, port)
                assert sem.ingress_allowed(w.host, pod, tenant_h, protocol, port) == expected_in, (
                    f"ingress {pod} -> {tenant_v} {protocol}/{port}: expected {expected_in}"
                )
                assert sem.egress_allowed(w.host, tenant_h, pod, protocol, port) == expected_out, (
                    f"egress {tenant_v} -> {pod} {protocol}/{port}: expected {expected_out}"
                )


@settings(max_examples=600, deadline=None)
@given(worlds())
def test_host_policies_allow_exactly_what_virtual_policies_allow(w: Worlds) -> None:
    """Tenant pod pairs and external IPs get the same answers; foreign pods are unaffected."""
    assert_same_as_virtual(w.tenant, w.tenant_pods, w.host)
    assert_same_as_virtual(w.other, w.other_pods, w.host)
    assert_foreign_pods_unaffected(w)


def test_generated_worlds_exercise_both_answers() -> None:
    """The generator is not vacuous: isolation, allowed and denied traffic all occur often.

    Derandomized, so the counts are stable from run to run; the thresholds sit well below them.
    """
    seen: Counter[str] = Counter()

    @settings(max_examples=100, deadline=None, database=None, derandomize=True)
    @given(worlds())
    def collect(w: Worlds) -> None:
        seen["worlds"] += 1
        pods = [v for v, _ in w.tenant_pods]
        if any(sem.selects(p, pod) for p in w.tenant.policies for pod in pods):
            seen["some pod isolated"] += 1
        answers = {
            sem.allowed(w.tenant, a, b, protocol, port)
            for a in pods
            for b in pods
            if a is not b
            for protocol, port in TRAFFIC
        }
        if answers == {True, False}:
            seen["pairs both allowed and denied"] += 1
        externals = {
            sem.allowed(w.tenant, sem.External(ip), pod, "TCP", 80)
            for ip in EXTERNAL_IPS
            for pod in pods
        }
        if externals == {True, False}:
            seen["external both allowed and denied"] += 1
        foreign = [h for _, h in w.other_pods] + w.plain_pods
        if any(
            not sem.ingress_allowed(w.host, f, t, "TCP", 80)
            for _, t in w.tenant_pods
            for f in foreign
        ):
            seen["a foreign pod refused by our policies"] += 1

    collect()
    worlds_seen = seen["worlds"]
    assert seen["some pod isolated"] > worlds_seen * 0.6, seen
    assert seen["pairs both allowed and denied"] > worlds_seen * 0.2, seen
    assert seen["external both allowed and denied"] > worlds_seen * 0.2, seen
    assert seen["a foreign pod refused by our policies"] > worlds_seen * 0.4, seen
