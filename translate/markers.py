"""Label and annotation keys shared with vCluster's own syncers.

These strings are an interop contract (SPEC §3): vCluster's pod syncer writes host pods with the
same keys, so a host NetworkPolicy selects tenant pods only if both sides agree on them.
"""

from __future__ import annotations

from typing import Final

MANAGED_BY: Final = "vcluster.loft.sh/managed-by"
"""Label on every host object (and host selector) naming the virtual cluster it belongs to."""

NAMESPACE: Final = "vcluster.loft.sh/namespace"
"""Label naming the virtual namespace a host object (or host pod) came from."""

CONTROLLED_BY: Final = "vcluster.loft.sh/controlled-by"
RELEASE: Final = "release"

RESERVED_LABEL_KEYS: Final = frozenset({RELEASE, NAMESPACE, MANAGED_BY, CONTROLLED_BY})
"""Keys a tenant may not set verbatim on the host: they are rewritten to hashed keys."""

SCOPING_LABEL_KEYS: Final = frozenset({NAMESPACE, MANAGED_BY})

LABEL_PREFIX: Final = "vcluster.loft.sh/label"
NAMESPACE_LABEL_PREFIX: Final = "vcluster.loft.sh/ns-label"

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
MANAGED_ANNOTATIONS: Final = "vcluster.loft.sh/managed-annotations"
OBJECT_NAME: Final = "vcluster.loft.sh/object-name"
OBJECT_NAMESPACE: Final = "vcluster.loft.sh/object-namespace"
OBJECT_UID: Final = "vcluster.loft.sh/object-uid"
OBJECT_KIND: Final = "vcluster.loft.sh/object-kind"
OBJECT_HOST_NAME: Final = "vcluster.loft.sh/object-host-name"
OBJECT_HOST_NAMESPACE: Final = "vcluster.loft.sh/object-host-namespace"

OBJECT_KIND_VALUE: Final = "networking.k8s.io/v1, Kind=NetworkPolicy"

OWNERSHIP_ANNOTATIONS: Final = (
    OBJECT_NAME,
    OBJECT_NAMESPACE,
    OBJECT_UID,
    OBJECT_KIND,
    OBJECT_HOST_NAME,
    OBJECT_HOST_NAMESPACE,
)

BOOKKEEPING_ANNOTATIONS: Final = frozenset({MANAGED_ANNOTATIONS, *OWNERSHIP_ANNOTATIONS})
"""Annotations the syncer writes itself; a tenant's copies of them are never carried over."""
