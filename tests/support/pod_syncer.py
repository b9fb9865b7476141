"""A reference model of what vCluster's pod syncer writes on the host (SPEC §3).

The semantic-equivalence tests need host pods, and host pods are not written by netpol-syncer but
by vCluster. This module derives them exactly as SPEC §3 "How host pods look" says, with its own
copy of the naming rules written from the SPEC text, so that a bug in ``translate.naming`` cannot
hide itself by being used on both sides of a comparison.

Nothing here imports ``translate``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

MANAGED_BY = "vcluster.loft.sh/managed-by"
NAMESPACE = "vcluster.loft.sh/namespace"
RESERVED_LABEL_KEYS = frozenset(
    {"release", NAMESPACE, MANAGED_BY, "vcluster.loft.sh/controlled-by"}
)


def sha10(text: str) -> str:
    """First 10 hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def safe_concat(*parts: str) -> str:
    """SPEC §3 safe_concat, transcribed: join with ``-``; over 63 characters, 52 + ``-`` + hash."""
    joined = "-".join(parts)
    if len(joined) <= 63:
        return joined
    return (joined[:52] + "-" + sha10(joined)).replace(".-", "-")


def label_key(key: str, vcluster: str) -> str:
    """Host key of a tenant pod label: reserved keys hashed, others unchanged."""
    if key in RESERVED_LABEL_KEYS:
        return safe_concat("vcluster.loft.sh/label", vcluster, "x", sha10(key))
    return key


def namespace_label_key(key: str, vcluster: str) -> str:
    """Host pod key under which the label ``key`` of the pod's virtual namespace is copied."""
    return safe_concat("vcluster.loft.sh/ns-label", vcluster, "x", sha10(key))


def host_pod_labels(
    pod_labels: Mapping[str, str],
    virtual_namespace: str,
    namespace_labels: Mapping[str, str],
    vcluster: str,
) -> dict[str, str]:
    """Labels of the host copy of a tenant pod in ``virtual_namespace``.

    Each pod label under :func:`label_key`, the two scoping labels, and each namespace label
    under :func:`namespace_label_key`. The three groups never share a key for the label keys the
    semantic tests use (none of them looks like a translated key), which the assertion checks.
    """
    labels = {label_key(k, vcluster): v for k, v in pod_labels.items()}
    scoping = {MANAGED_BY: vcluster, NAMESPACE: virtual_namespace}
    from_namespace = {namespace_label_key(k, vcluster): v for k, v in namespace_labels.items()}
    assert len(labels) + len(scoping) + len(from_namespace) == len(
        {**labels, **scoping, **from_namespace}
    ), "tenant label keys collide with keys the pod syncer writes"
    return {**labels, **scoping, **from_namespace}
