"""Which host objects belong to this syncer, and to which virtual object.

Ownership is decided from the host object alone so that orphan collection and collision
detection need no virtual lookup. A host object that merely carries our marker label is not
enough: the ownership annotations must map back to its own name, which a copy made by another
tool or a hand-written object will not do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translate import markers
from translate.naming import host_name
from translate.types import ObjectKey, Target


def virtual_key_of(host: Mapping[str, Any], target: Target) -> ObjectKey | None:
    """The virtual object ``host`` is a copy of, or None when ``host`` is not ours."""
    meta = host.get("metadata") or {}
    if (meta.get("labels") or {}).get(markers.MANAGED_BY) != target.vcluster:
        return None
    annotations = meta.get("annotations") or {}
    name = annotations.get(markers.OBJECT_NAME)
    namespace = annotations.get(markers.OBJECT_NAMESPACE)
    if not name or not namespace:
        return None
    if meta.get("namespace") != target.host_namespace_for(namespace):
        return None
    if host_name(name, namespace, target.vcluster) != meta.get("name"):
        return None
    return ObjectKey(namespace=namespace, name=name)


def is_owned(host: Mapping[str, Any], target: Target) -> bool:
    """True when this syncer may write or delete ``host``."""
    return virtual_key_of(host, target) is not None
