"""The translated host object the patch tables run on, and a shortcut to patch it.

The virtual policy has one rule per direction with each kind of peer, so a table can point a
patch at any part of a real translation. Expected values are written out, not computed.
"""

from __future__ import annotations

import copy
from typing import Any

import patches
import translate

VC = "vc1"
HNS = "team-a"
TARGET = translate.Target(vcluster=VC, host_namespace=HNS)
HOST_NAME = "web-x-shop-x-vc1"
MANAGED_BY = "vcluster.loft.sh/managed-by"
NAMESPACE = "vcluster.loft.sh/namespace"

VIRTUAL: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "7d0b6c1e-0000-4000-8000-000000000001",
        "labels": {"app": "web"},
        "annotations": {"owner": "shop-team"},
    },
    "spec": {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {"podSelector": {"matchLabels": {"app": "client"}}},
                    {"namespaceSelector": {"matchLabels": {"tier": "ingress"}}},
                ],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
    },
}


def translated() -> translate.NetworkPolicy:
    """A fresh translation of :data:`VIRTUAL` (tests may keep and compare it)."""
    return translate.to_host(copy.deepcopy(VIRTUAL), TARGET)  # type: ignore[arg-type]


def apply(entries: list[dict[str, Any]]) -> translate.NetworkPolicy:
    """Parse ``entries`` and apply them to a fresh translation; raises PatchRefused."""
    return patches.parse(entries).apply(translated(), vcluster=VC)
