"""The owner reference of host copies: the vCluster's Service, as vCluster's own syncer sets it.

vCluster (``experimental.syncSettings.setOwner``, on by default) points every object it creates
in the host namespace at its Service ``<VC>``, so deleting the vCluster garbage-collects them
and a re-install under the same name starts clean. Host copies of NetworkPolicies get the same
single entry (SPEC §3): ``apiVersion: v1``, ``kind: Service``, the Service's name and uid,
``controller: false``. ``blockOwnerDeletion`` is left out, as vCluster leaves it out (setting it
would also need permission to update the Service's finalizers).

vCluster sets ``controller`` to whether the *virtual* object has a controller of its own; here
it is always false: the Service does not control the copy, and a second ``controller: true``
entry would be refused by the API server if another tool had made itself the copy's controller.

Only the entry this syncer writes is its own: every other owner reference on a host copy
(added by someone else on the host) is kept, in place. A desired object without an
``ownerReferences`` key says "owner not known yet": the comparison then leaves the host copy's
owner references as they are, so a restart does not strip and re-add them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from translate.types import NetworkPolicy, ObjectMeta

OwnerReference = dict[str, Any]

SERVICE_API_VERSION = "v1"
SERVICE_KIND = "Service"


def service_owner_reference(vcluster: str, uid: str) -> OwnerReference:
    """The owner reference to the vCluster's Service ``vcluster`` with ``uid``."""
    return {
        "apiVersion": SERVICE_API_VERSION,
        "kind": SERVICE_KIND,
        "name": vcluster,
        "uid": uid,
        "controller": False,
    }


def is_service_owner_reference(ref: Mapping[str, Any], vcluster: str) -> bool:
    """True for a reference to the vCluster's Service, whatever its uid: the entry we own."""
    return (
        ref.get("apiVersion") == SERVICE_API_VERSION
        and ref.get("kind") == SERVICE_KIND
        and ref.get("name") == vcluster
    )


def with_owner(policy: NetworkPolicy, owners: Sequence[OwnerReference] | None) -> NetworkPolicy:
    """``policy`` with exactly ``owners`` as its owner references: ``[]`` means none (and a
    stale one of ours is removed), None means not known yet (the key is left out).

    Returns a new object whose metadata is a copy; ``policy`` is not modified.
    """
    meta = ObjectMeta(**(policy.get("metadata") or {}))
    meta.pop("ownerReferences", None)
    if owners is not None:
        meta["ownerReferences"] = [dict(o) for o in owners]
    out = NetworkPolicy(**policy)
    out["metadata"] = meta
    return out


def merged_owner_references(
    desired: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]], vcluster: str
) -> list[OwnerReference]:
    """``actual``'s owner references with ours replaced by ``desired``'s, others kept in place.

    Our entry takes the position of the first entry of ours in ``actual`` (so a uid change
    rewrites nothing else), or goes last; duplicates of ours are dropped.
    """
    out: list[OwnerReference] = []
    placed = False
    for ref in actual:
        if is_service_owner_reference(ref, vcluster):
            if not placed:
                out.extend(dict(d) for d in desired)
                placed = True
            continue
        out.append(dict(ref))
    if not placed:
        out.extend(dict(d) for d in desired)
    return out
