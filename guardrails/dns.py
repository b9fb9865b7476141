"""``dns: auto``: tenant "allow DNS on 53" rules keep working on the host (SPEC §9).

Inside a vCluster, CoreDNS listens on 1053 behind the ``kube-system/kube-dns`` Service on 53.
NetworkPolicy ports match the destination pod's port after the Service is resolved, so a host
copy of "allow UDP 53 to kube-dns" blocks DNS. For each egress rule that allows port 53 (UDP or
TCP, numbered, a range over 53, or all ports) to peers that would include the vCluster's DNS
pods (or to everything), the host copy gains one rule allowing the real endpoint on its target
port for those protocols only. Nothing else is widened: no other peer, port or protocol.

Where the endpoint is comes from :class:`DnsFacts`, which the controller builds from the virtual
kube-dns Service with :func:`facts_from_service`: the synced CoreDNS pods (translated labels), or
the vCluster control-plane pod when CoreDNS is embedded in it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from guardrails.envelope import Narrowed
from translate import host_pod_selector, markers
from translate.types import NetworkPolicy, NetworkPolicyPeer

DNS_PORT = 53
DNS_NAMESPACE = "kube-system"
DNS_SERVICE = "kube-dns"
DNS_PROTOCOLS = ("UDP", "TCP")

DEFAULT_SERVICE: Final[Mapping[str, Any]] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": DNS_SERVICE, "namespace": DNS_NAMESPACE},
    "spec": {
        "selector": {"k8s-app": "kube-dns"},
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 1053},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 1053},
        ],
    },
}
"""The virtual kube-dns Service every vCluster creates: CoreDNS listens on 1053 behind it,
selected by ``k8s-app: kube-dns``. Offline commands assume it; the demo seeds it. Read only."""


@dataclass(frozen=True, slots=True)
class DnsFacts:
    """Where a vCluster's DNS really is, virtually (to match tenant peers) and on the host."""

    pod_labels: Mapping[str, str]
    """Labels of the virtual DNS pods: the kube-dns Service selector (``k8s-app: kube-dns``)."""
    host_peer: NetworkPolicyPeer
    """Host peer selecting the real DNS pods (or the control-plane pod when embedded)."""
    target_ports: Mapping[str, int | str]
    """Protocol -> target port of the Service's port 53 (e.g. ``{"UDP": 1053, "TCP": 1053}``)."""
    namespace_labels: Mapping[str, str] = field(
        default_factory=lambda: {"kubernetes.io/metadata.name": DNS_NAMESPACE}
    )
    """Labels of the virtual ``kube-system`` namespace, for tenant namespaceSelectors."""


def facts_from_service(
    service: Mapping[str, Any],
    vcluster: str,
    *,
    embedded: bool,
    namespace_labels: Mapping[str, str] | None = None,
) -> DnsFacts:
    """DNS facts from the virtual ``kube-system/kube-dns`` Service object.

    ``embedded`` (CoreDNS runs inside the control-plane pod, so no virtual pod matches the
    Service selector): the endpoint is the control-plane pod, labelled ``app: vcluster`` and
    ``release: <vcluster>`` by the vCluster chart. Otherwise it is the synced CoreDNS pods, which
    carry the Service selector's labels translated as SPEC §3 says.
    """
    spec = service.get("spec") or {}
    selector = dict(spec.get("selector") or {"k8s-app": "kube-dns"})
    targets: dict[str, int | str] = {}
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        if port.get("port") == DNS_PORT and protocol in DNS_PROTOCOLS:
            targets[protocol] = port.get("targetPort", DNS_PORT)
    host_peer: NetworkPolicyPeer
    if embedded:
        host_peer = {"podSelector": {"matchLabels": {"app": "vcluster", markers.RELEASE: vcluster}}}
    else:
        host_peer = {
            "podSelector": host_pod_selector({"matchLabels": selector}, DNS_NAMESPACE, vcluster)
        }
    return DnsFacts(
        pod_labels=selector,
        host_peer=host_peer,
        target_ports=targets,
        namespace_labels=namespace_labels or {"kubernetes.io/metadata.name": DNS_NAMESPACE},
    )


def allow_dns(virtual: NetworkPolicy, host: NetworkPolicy, facts: DnsFacts) -> Narrowed:
    """``host`` plus one egress rule to the real DNS endpoint when ``virtual`` allows DNS."""
    spec = virtual.get("spec") or {}
    namespace = (virtual.get("metadata") or {}).get("namespace", "")
    protocols: set[str] = set()
    for rule in cast(list[dict[str, Any]], spec.get("egress") or []):
        peers = rule.get("to") or []
        if peers and not any(_includes_dns(p, namespace, facts) for p in peers):
            continue
        protocols |= _protocols_on_53(rule.get("ports") or [])
    ports = [
        {"protocol": protocol, "port": facts.target_ports[protocol]}
        for protocol in DNS_PROTOCOLS
        if protocol in protocols and protocol in facts.target_ports
    ]
    if not ports:
        return Narrowed(host)
    added: dict[str, Any] = {"ports": ports, "to": [_copy(facts.host_peer)]}
    host_spec: dict[str, Any] = dict(host.get("spec") or {})
    egress: list[Any] = list(host_spec.get("egress") or [])
    if added in egress:
        return Narrowed(host)
    host_spec["egress"] = [*egress, cast(Any, added)]
    described = ", ".join(f"{p['port']}/{p['protocol']}" for p in ports)
    note = f"egress[{len(egress)}]: added the vCluster's DNS endpoint on {described}"
    return Narrowed(cast(NetworkPolicy, {**host, "spec": host_spec}), (note,))


def _protocols_on_53(ports: list[dict[str, Any]]) -> set[str]:
    """Protocols among UDP/TCP for which a rule's ``ports`` admit port 53 by number."""
    if not ports:
        return set(DNS_PROTOCOLS)
    out = set()
    for entry in ports:
        protocol = entry.get("protocol", "TCP")
        port = entry.get("port")
        if protocol not in DNS_PROTOCOLS:
            continue
        end = entry.get("endPort")
        if (
            port is None
            or port == DNS_PORT
            or (isinstance(port, int) and end is not None and port <= DNS_PORT <= end)
        ):
            out.add(protocol)
    return out


def _includes_dns(peer: Mapping[str, Any], policy_namespace: str, facts: DnsFacts) -> bool:
    """Would this virtual peer select the virtual DNS pods? ipBlocks never do (SPEC §3 rule)."""
    if peer.get("ipBlock") is not None:
        return False
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        in_scope = policy_namespace == DNS_NAMESPACE
    else:
        in_scope = selector_matches(namespace_selector, facts.namespace_labels)
    pod_selector = peer.get("podSelector")
    return in_scope and (pod_selector is None or selector_matches(pod_selector, facts.pod_labels))


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Upstream label-selector semantics (``NotIn``/``DoesNotExist`` match a missing label)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key"), requirement.get("operator")
        values = requirement.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator, False)
        if not ok:
            return False
    return True


def _copy(peer: NetworkPolicyPeer) -> dict[str, Any]:
    return cast(dict[str, Any], copy.deepcopy(dict(peer)))
