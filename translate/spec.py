"""Spec translation: scope the selected pods and every peer to this virtual cluster.

The host namespace holds pods of the whole virtual cluster (and possibly others), so every
selector gains ``vcluster.loft.sh/managed-by=VC``; same-namespace selectors also gain
``vcluster.loft.sh/namespace``; namespace selectors become pod-label selectors because the pod
syncer copies namespace labels onto each host pod. The host never gets a ``namespaceSelector``:
it would match real host namespaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from translate import jsondata, markers
from translate.naming import host_label_key, host_namespace_label_key
from translate.selectors import merge_selectors, rewrite_selector
from translate.types import (
    EgressRule,
    IngressRule,
    LabelSelector,
    NetworkPolicyPeer,
    NetworkPolicySpec,
)

_T = TypeVar("_T")


def host_pod_selector(
    selector: LabelSelector, virtual_namespace: str, vcluster: str
) -> LabelSelector:
    """``spec.podSelector`` on the host: the tenant's selector plus both scoping labels."""
    out = rewrite_selector(selector, vcluster, host_label_key)
    out["matchLabels"] = {
        **out.get("matchLabels", {}),
        markers.NAMESPACE: virtual_namespace,
        markers.MANAGED_BY: vcluster,
    }
    return out


def host_peer(peer: NetworkPolicyPeer, virtual_namespace: str, vcluster: str) -> NetworkPolicyPeer:
    """One ``from``/``to`` entry on the host: an ipBlock copied, or a scoped pod selector."""
    if peer.get("ipBlock") is not None:
        return {"ipBlock": jsondata.copy_json(peer["ipBlock"])}
    selector = rewrite_selector(peer.get("podSelector") or {}, vcluster, host_label_key)
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is not None:
        selector = merge_selectors(
            selector, rewrite_selector(namespace_selector, vcluster, host_namespace_label_key)
        )
    scope = {markers.MANAGED_BY: vcluster}
    if namespace_selector is None:
        scope[markers.NAMESPACE] = virtual_namespace
    selector["matchLabels"] = {**selector.get("matchLabels", {}), **scope}
    return {"podSelector": selector}


def _host_rule(
    rule: Mapping[str, Any], peers_field: str, virtual_namespace: str, vcluster: str
) -> dict[str, Any]:
    """An ingress (``peers_field="from"``) or egress (``"to"``) rule: ports verbatim, peers
    translated; a rule without peers stays without (it means any source or destination)."""
    out: dict[str, Any] = {}
    if rule.get("ports") is not None:
        out["ports"] = jsondata.copy_json(rule["ports"])
    peers = rule.get(peers_field)
    if peers:
        out[peers_field] = [host_peer(p, virtual_namespace, vcluster) for p in peers]
    return out


def host_spec(spec: NetworkPolicySpec, virtual_namespace: str, vcluster: str) -> NetworkPolicySpec:
    """The whole host spec (SPEC §3 "Spec"); ``spec`` is not modified."""
    out: NetworkPolicySpec = {
        "podSelector": host_pod_selector(spec.get("podSelector") or {}, virtual_namespace, vcluster)
    }
    ingress = spec.get("ingress")
    if ingress:
        out["ingress"] = [
            cast(IngressRule, _host_rule(r, "from", virtual_namespace, vcluster)) for r in ingress
        ]
    egress = spec.get("egress")
    if egress:
        out["egress"] = [
            cast(EgressRule, _host_rule(r, "to", virtual_namespace, vcluster)) for r in egress
        ]
    if spec.get("policyTypes") is not None:
        out["policyTypes"] = list(spec["policyTypes"])
    return out
