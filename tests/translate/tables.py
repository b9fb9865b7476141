"""Shared pieces of the hand-computed tables: the target, a policy builder, a checked ``to_host``.

Expected values in the tables are written out from the SPEC text; the only computation allowed
is :func:`sha10`, the SPEC's "first 10 hex digits of the SHA-256", done with ``hashlib``.

:func:`to_host` wraps the function under test so no table can forget the schema check: each host
object must pass the official Kubernetes schema (strict) and the upstream NetworkPolicy rules
before the test compares it with its expectation.
"""

from __future__ import annotations

import hashlib
from typing import Any

import translate
from tests.support import kube_schema

VC = "vc1"
"""The virtual cluster most tables translate for (short: no hash fallback in keys)."""

HNS = "team-a"
"""The host namespace most tables translate into."""

TARGET = translate.Target(vcluster=VC, host_namespace=HNS)

MANAGED_BY = "vcluster.loft.sh/managed-by"
NAMESPACE = "vcluster.loft.sh/namespace"


def sha10(text: str) -> str:
    """First 10 hex digits of the SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def label_key(key: str) -> str:
    """SPEC's translated form of reserved ``key`` for VC ``vc1`` (short enough: no fallback)."""
    return f"vcluster.loft.sh/label-{VC}-x-{sha10(key)}"


def ns_key(key: str) -> str:
    """SPEC's namespace-label key for ``key`` and VC ``vc1`` (short enough: no fallback)."""
    return f"vcluster.loft.sh/ns-label-{VC}-x-{sha10(key)}"


def to_host(virtual: dict[str, Any], target: translate.Target = TARGET) -> dict[str, Any]:
    """Translate ``virtual`` and check the result against the Kubernetes schema."""
    host: dict[str, Any] = dict(translate.to_host(virtual, target))  # type: ignore[arg-type]
    kube_schema.assert_valid(host)
    return host


def policy(
    spec: dict[str, Any] | None = None,
    *,
    name: str = "web",
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    """A virtual NetworkPolicy as the virtual API server returns it."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": "uid-1", **metadata}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec if spec is not None else {"podSelector": {}},
    }
