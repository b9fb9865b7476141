"""Upstream NetworkPolicy semantics, as a small evaluator over plain dicts.

This module is a specification first and code second: it answers "does this set of
``networking.k8s.io/v1`` NetworkPolicies allow this packet?" the way the Kubernetes API
documentation defines it, so that tests can compare a virtual cluster with its host namespace.

The rules, in the order the functions below apply them:

1. **Isolation is per pod and per direction.** A pod is isolated for ingress iff at least one
   policy in the pod's namespace selects it (``spec.podSelector``) and has ``Ingress`` among its
   policy types; likewise for egress. A non-isolated direction allows everything.
2. **Policy types default** when ``policyTypes`` is absent or empty: ``Ingress`` always, plus
   ``Egress`` iff the policy has at least one egress rule (what the API server stores).
3. **Rules are additive.** An isolated direction allows a connection iff some rule of some
   policy that selects the pod (and has that type) matches it. Order never matters.
4. **A rule matches** when one of its peers matches the other end (no ``from``/``to``, or an empty
   list, means every peer) and one of its ports matches (no ``ports``, or an empty list, means
   every port).
5. **Peers.** ``ipBlock`` matches an external IP inside ``cidr`` and outside every ``except``; it
   never matches a pod (for pod IPs upstream leaves it to the implementation, so the tests never
   rely on it). A peer with ``podSelector`` and no ``namespaceSelector`` matches pods of the
   policy's own namespace. A peer with ``namespaceSelector`` matches pods in namespaces whose
   labels it selects, further narrowed by ``podSelector`` when present. An empty selector ``{}``
   selects everything; ``matchLabels`` and ``matchExpressions`` are ANDed.
6. **Ports.** ``protocol`` defaults to TCP. A missing ``port`` matches every port of the protocol;
   a number matches itself, or the range ``port..endPort``; a name matches when the destination
   pod has a container port of that name and protocol whose number is the packet's port
   (ingress: the selected pod; egress: the peer). A name never matches an external IP.
7. **A pod-to-pod connection** needs egress allowed at the source and ingress allowed at the
   destination. Connections from or to external IPs are checked only at the pod end. A pod
   cannot block access to itself.

One extension beyond upstream, for comparing worlds: a pod whose namespace is not one of the
cluster's namespaces is an *outsider* (a pod somewhere else on the host). Outsiders match no
``podSelector``/``namespaceSelector`` peer, only peerless rules, which is exactly how a host
policy scoped to one virtual cluster sees pods that do not belong to it.

A second extension states the admin envelope of SPEC §9 (``blockedCIDRs``): :class:`Envelope`
lists blocked address ranges, and :func:`allowed_within` answers "what the virtual policies
allow with the blocked addresses removed from every rule": wherever a pod is isolated, a blocked
external IP is refused; a non-isolated direction still allows everything, because the host
copies only narrow what policies allow and never isolate a pod the tenant did not isolate.
With ``Envelope(managed=True)`` (``isolation: managed``) a non-isolated direction allows the
envelope instead: everything but the blocked addresses, i.e. virtual semantics ∩ envelope.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Json = Mapping[str, Any]


@dataclass(frozen=True)
class ContainerPort:
    """One ``containers[].ports[]`` entry: what named ports resolve against."""

    number: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, eq=False)
class Pod:
    """A pod as NetworkPolicies see it: where it lives, its labels and its container ports."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...] = ()

    def __repr__(self) -> str:
        return f"Pod({self.namespace}/{self.name} {dict(self.labels)} {self.ports})"


@dataclass(frozen=True)
class External:
    """An IP address outside the cluster (the only thing ``ipBlock`` peers match)."""

    ip: str


Endpoint = Pod | External


@dataclass(frozen=True, eq=False)
class Cluster:
    """Namespaces (name -> labels), pods and NetworkPolicies (API-shaped dicts).

    Treat it as immutable: which policies apply to a pod is memoised per pod and direction.
    """

    namespaces: Mapping[str, Mapping[str, str]]
    pods: Sequence[Pod]
    policies: Sequence[Json] = field(default_factory=tuple)
    _applicable: dict[tuple[Pod, str], list[Json]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def applicable(self, pod: Pod, policy_type: str) -> list[Json]:
        """The policies that select ``pod`` and have ``policy_type`` (rules 1 and 2)."""
        key = (pod, policy_type)  # pods hash by identity; the key keeps the pod alive
        if key not in self._applicable:
            self._applicable[key] = [
                p for p in self.policies if selects(p, pod) and policy_type in policy_types(p)
            ]
        return self._applicable[key]


@functools.cache
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@functools.cache
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parsed once: the same few CIDRs recur across thousands of generated worlds."""
    return ipaddress.ip_network(text)


# -- selectors ----------------------------------------------------------------------------------


def requirement_matches(requirement: Json, labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` entry (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``).

    ``NotIn`` and ``DoesNotExist`` match objects that lack the label entirely.
    """
    key, operator = requirement["key"], requirement["operator"]
    values = requirement.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise ValueError(f"unknown selector operator {operator!r}")


def selector_matches(selector: Json, labels: Mapping[str, str]) -> bool:
    """A ``LabelSelector``: every matchLabels pair and every expression must hold."""
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    return all(requirement_matches(r, labels) for r in selector.get("matchExpressions") or [])


# -- policies -----------------------------------------------------------------------------------


def policy_types(policy: Json) -> frozenset[str]:
    """Declared policy types, or the API server's defaults when none are declared."""
    spec = policy.get("spec") or {}
    declared = spec.get("policyTypes") or []
    if declared:
        return frozenset(declared)
    return frozenset({"Ingress", "Egress"} if spec.get("egress") else {"Ingress"})


def selects(policy: Json, pod: Pod) -> bool:
    """True when ``policy`` applies to ``pod`` (same namespace, podSelector matches)."""
    if policy["metadata"]["namespace"] != pod.namespace:
        return False
    return selector_matches((policy.get("spec") or {}).get("podSelector") or {}, pod.labels)


def peer_matches(peer: Json, other: Endpoint, policy_namespace: str, cluster: Cluster) -> bool:
    """Does one ``from``/``to`` entry of a policy in ``policy_namespace`` match ``other``?"""
    if "ipBlock" in peer:
        if not isinstance(other, External):
            return False
        block = peer["ipBlock"]
        address = _address(other.ip)
        if address not in _network(block["cidr"]):
            return False
        return not any(address in _network(c) for c in block.get("except") or [])
    if not isinstance(other, Pod):
        return False
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        in_scope = other.namespace == policy_namespace
    else:
        namespace_labels = cluster.namespaces.get(other.namespace)
        in_scope = namespace_labels is not None and selector_matches(
            namespace_selector, namespace_labels
        )
    pod_selector = peer.get("podSelector")
    return in_scope and (pod_selector is None or selector_matches(pod_selector, other.labels))


def port_matches(entry: Json, protocol: str, port: int, destination: Endpoint) -> bool:
    """Does one ``ports`` entry match a packet to ``destination`` on ``protocol``/``port``?"""
    if entry.get("protocol", "TCP") != protocol:
        return False
    declared = entry.get("port")
    if declared is None:
        return True
    if isinstance(declared, int):
        end = entry.get("endPort")
        return declared == port if end is None else declared <= port <= end
    if not isinstance(destination, Pod):
        return False
    return any(
        c.name == declared and c.protocol == protocol and c.number == port
        for c in destination.ports
    )


def rule_matches(
    rule: Json,
    peers_field: str,
    other: Endpoint,
    protocol: str,
    port: int,
    destination: Endpoint,
    policy_namespace: str,
    cluster: Cluster,
) -> bool:
    """One ingress (``from``) or egress (``to``) rule: some peer and some port must match."""
    peers = rule.get(peers_field) or []
    if peers and not any(peer_matches(p, other, policy_namespace, cluster) for p in peers):
        return False
    ports = rule.get("ports") or []
    return not ports or any(port_matches(e, protocol, port, destination) for e in ports)


@dataclass(frozen=True)
class Envelope:
    """Blocked address ranges: no policy rule may admit an external IP inside one.

    ``managed`` (``isolation: managed``): the envelope also bounds pods no policy isolates, so
    effective reachability is virtual semantics ∩ envelope for every pod.
    """

    blocked: tuple[str, ...] = ()
    managed: bool = False

    def blocks(self, other: Endpoint) -> bool:
        """True for an external IP inside a blocked range (pods are never blocked by address)."""
        if not isinstance(other, External):
            return False
        address = _address(other.ip)
        return any(address in _network(c) for c in self.blocked)


NO_ENVELOPE = Envelope()


def _direction_allows(
    cluster: Cluster,
    pod: Pod,
    other: Endpoint,
    direction: str,
    protocol: str,
    port: int,
    destination: Endpoint,
    envelope: Envelope = NO_ENVELOPE,
) -> bool:
    policy_type, rules_field, peers_field = {
        "ingress": ("Ingress", "ingress", "from"),
        "egress": ("Egress", "egress", "to"),
    }[direction]
    applicable = cluster.applicable(pod, policy_type)
    if not applicable:
        # not isolated in this direction: everything, or the envelope when it is managed
        return not (envelope.managed and envelope.blocks(other))
    if envelope.blocks(other):
        return False  # the admin envelope removes blocked addresses from every rule
    return any(
        rule_matches(
            rule,
            peers_field,
            other,
            protocol,
            port,
            destination,
            policy["metadata"]["namespace"],
            cluster,
        )
        for policy in applicable
        for rule in (policy.get("spec") or {}).get(rules_field) or []
    )


def ingress_allowed(
    cluster: Cluster,
    src: Endpoint,
    dst: Pod,
    protocol: str,
    port: int,
    envelope: Envelope = NO_ENVELOPE,
) -> bool:
    """Do the policies selecting ``dst`` let ``src`` in on ``protocol``/``port``?"""
    return _direction_allows(cluster, dst, src, "ingress", protocol, port, dst, envelope)


def egress_allowed(
    cluster: Cluster,
    src: Pod,
    dst: Endpoint,
    protocol: str,
    port: int,
    envelope: Envelope = NO_ENVELOPE,
) -> bool:
    """Do the policies selecting ``src`` let it out to ``dst`` on ``protocol``/``port``?"""
    return _direction_allows(cluster, src, dst, "egress", protocol, port, dst, envelope)


def allowed(
    cluster: Cluster,
    src: Endpoint,
    dst: Endpoint,
    protocol: str,
    port: int,
    envelope: Envelope = NO_ENVELOPE,
) -> bool:
    """The whole answer for one connection attempt (rule 7), inside ``envelope`` if given."""
    if src is dst:
        return True
    if isinstance(src, Pod) and not egress_allowed(cluster, src, dst, protocol, port, envelope):
        return False
    return not isinstance(dst, Pod) or ingress_allowed(cluster, src, dst, protocol, port, envelope)


def allowed_within(
    cluster: Cluster, envelope: Envelope, src: Endpoint, dst: Endpoint, protocol: str, port: int
) -> bool:
    """Virtual semantics with the envelope's blocked addresses removed from every rule."""
    return allowed(cluster, src, dst, protocol, port, envelope)
