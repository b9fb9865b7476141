"""Host metadata: tenant labels and annotations carried over, plus ownership bookkeeping.

Only name, namespace, labels and annotations reach the host. uid, resourceVersion,
ownerReferences, finalizers, managedFields and timestamps belong to the virtual API server and
would be wrong, or harmful, on the host.
"""

from __future__ import annotations

from translate import markers
from translate.naming import host_label_key, host_name, translated_reserved_keys
from translate.types import ObjectMeta, Target


def host_labels(labels: dict[str, str], virtual_namespace: str, vcluster: str) -> dict[str, str]:
    """Tenant labels with reserved keys hashed, plus the two scoping labels.

    A tenant label whose key already is a hashed reserved key is dropped: it would otherwise
    shadow the hashed form of the tenant's own reserved label.
    """
    already_translated = translated_reserved_keys(vcluster)
    out = {host_label_key(k, vcluster): v for k, v in labels.items() if k not in already_translated}
    out[markers.MANAGED_BY] = vcluster
    out[markers.NAMESPACE] = virtual_namespace
    return out


def host_annotations(meta: ObjectMeta, target: Target) -> dict[str, str]:
    """Tenant annotations (minus last-applied and bookkeeping keys), then the bookkeeping."""
    name = meta.get("name", "")
    namespace = meta.get("namespace", "")
    out = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != markers.LAST_APPLIED and k not in markers.BOOKKEEPING_ANNOTATIONS
    }
    if out:
        out[markers.MANAGED_ANNOTATIONS] = "\n".join(sorted(out))
    out[markers.OBJECT_NAME] = name
    out[markers.OBJECT_NAMESPACE] = namespace
    out[markers.OBJECT_UID] = meta.get("uid") or ""
    out[markers.OBJECT_KIND] = markers.OBJECT_KIND_VALUE
    out[markers.OBJECT_HOST_NAME] = host_name(name, namespace, target.vcluster)
    out[markers.OBJECT_HOST_NAMESPACE] = target.host_namespace_for(namespace)
    return out


def host_metadata(meta: ObjectMeta, target: Target) -> ObjectMeta:
    """Complete host ``metadata`` for virtual ``meta``."""
    name = meta.get("name", "")
    namespace = meta.get("namespace", "")
    return {
        "name": host_name(name, namespace, target.vcluster),
        "namespace": target.host_namespace_for(namespace),
        "labels": host_labels(meta.get("labels") or {}, namespace, target.vcluster),
        "annotations": host_annotations(meta, target),
    }
