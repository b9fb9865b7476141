"""The whole translation: virtual NetworkPolicy -> host NetworkPolicy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translate.metadata import host_metadata
from translate.spec import host_spec
from translate.types import API_VERSION, KIND, NetworkPolicy, ObjectKey, Target


def to_host(virtual: NetworkPolicy, target: Target) -> NetworkPolicy:
    """Translate ``virtual`` for ``target`` (SPEC §3). Pure: ``virtual`` is never modified.

    The result shares no mutable structure with the input, so callers may patch it in place.
    """
    meta = virtual.get("metadata") or {}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": host_metadata(meta, target),
        "spec": host_spec(virtual.get("spec") or {}, meta.get("namespace", ""), target.vcluster),
    }


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    """An object's own key (``namespace``, ``name``; empty when absent), virtual or host."""
    meta = obj.get("metadata") or {}
    return ObjectKey(namespace=meta.get("namespace", ""), name=meta.get("name", ""))
