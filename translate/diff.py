"""Compare a desired host copy with the live one on the fields this syncer owns.

Owned: the whole ``spec``; every label and annotation of the desired object; tenant annotations
an earlier copy carried (listed in ``vcluster.loft.sh/managed-annotations``) and the bookkeeping
annotations; labels whose keys are hashed reserved keys of this virtual cluster; the owner
reference to the vCluster's Service (:mod:`translate.owner`), whatever uid it carries.
Everything else on the host object (labels, annotations and owner references other tools
added, finalizers, server-set metadata) is kept as it is.

Labels have no bookkeeping annotation (SPEC §3 defines none), so the caller passes the label
keys it wrote last time (``owned_labels``): those missing from the desired object are removed.
Without that memory (the first reconcile after a start) a label the tenant removed stays on the
host copy, because it cannot be told from a label another tool added. Labels on a NetworkPolicy
do not change what it enforces.

Specs are compared after the API server's defaulting (port protocol, policyTypes, omitted empty
lists) so that a host copy the server normalised is not rewritten forever.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from translate import markers, owner
from translate.naming import translated_reserved_keys
from translate.types import NetworkPolicy

_OMIT_WHEN_EMPTY = frozenset(
    {
        "matchLabels",
        "matchExpressions",
        "values",
        "ports",
        "from",
        "to",
        "ingress",
        "egress",
        "except",
    }
)
"""Spec fields that are ``omitempty`` lists or maps upstream: the server drops them when empty.
(``values`` is the only field of that name in a NetworkPolicy spec: a selector requirement's.)"""


def merged(
    desired: NetworkPolicy,
    actual: Mapping[str, Any],
    vcluster: str,
    owned_labels: Collection[str] = (),
) -> dict[str, Any]:
    """``actual`` with the owned fields taken from ``desired``; ready for a conditional PUT.

    ``owned_labels``: label keys this syncer wrote to ``actual`` before. ``actual`` is not
    modified; the result keeps its ``resourceVersion``.
    """
    labels, annotations = _owned_metadata(desired, actual, vcluster, owned_labels)
    out = dict(actual)
    meta = {**(actual.get("metadata") or {}), "labels": labels, "annotations": annotations}
    references = _owner_references(desired, actual, vcluster)
    if references is not None:
        meta.pop("ownerReferences", None)
        if references:
            meta["ownerReferences"] = references
    out["metadata"] = meta
    out["spec"] = copy.deepcopy(desired["spec"])
    return out


def owned_equal(
    desired: NetworkPolicy,
    actual: Mapping[str, Any],
    vcluster: str,
    owned_labels: Collection[str] = (),
) -> bool:
    """True when writing ``desired`` would change nothing this syncer owns."""
    actual_meta = actual.get("metadata") or {}
    labels, annotations = _owned_metadata(desired, actual, vcluster, owned_labels)
    return (
        labels == (actual_meta.get("labels") or {})
        and annotations == (actual_meta.get("annotations") or {})
        and _owner_references(desired, actual, vcluster)
        in (None, actual_meta.get("ownerReferences") or [])
        and normalized_spec(desired["spec"]) == normalized_spec(actual.get("spec") or {})
    )


def _owner_references(
    desired: NetworkPolicy, actual: Mapping[str, Any], vcluster: str
) -> list[dict[str, Any]] | None:
    """The owner references ``actual`` should have: others' kept, ours from ``desired``; None
    when ``desired`` does not say (owner not known yet): ``actual``'s stay as they are."""
    if "ownerReferences" not in desired["metadata"]:
        return None
    return owner.merged_owner_references(
        desired["metadata"]["ownerReferences"],
        (actual.get("metadata") or {}).get("ownerReferences") or [],
        vcluster,
    )


def _owned_metadata(
    desired: NetworkPolicy,
    actual: Mapping[str, Any],
    vcluster: str,
    owned_labels: Collection[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations ``actual`` should have: others' kept, ours from ``desired``."""
    actual_meta = actual.get("metadata") or {}
    desired_meta = desired["metadata"]
    desired_labels = desired_meta.get("labels", {})
    ours = translated_reserved_keys(vcluster)
    labels = {
        k: v
        for k, v in (actual_meta.get("labels") or {}).items()
        if k not in desired_labels and k not in ours and k not in owned_labels
    }
    labels.update(desired_labels)

    actual_annotations = actual_meta.get("annotations") or {}
    previously_managed = set(actual_annotations.get(markers.MANAGED_ANNOTATIONS, "").split("\n"))
    desired_annotations = desired_meta.get("annotations", {})
    annotations = {
        k: v
        for k, v in actual_annotations.items()
        if k not in desired_annotations
        and k not in previously_managed
        and k not in markers.BOOKKEEPING_ANNOTATIONS
    }
    annotations.update(desired_annotations)
    return labels, annotations


def normalized_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` as the API server stores it: defaults applied, empty optional lists dropped."""
    out = _drop_empty(spec)
    assert isinstance(out, dict)
    out.setdefault("podSelector", {})
    for direction in ("ingress", "egress"):
        for rule in out.get(direction, []):
            for port in rule.get("ports", []):
                port.setdefault("protocol", "TCP")
    if not out.get("policyTypes"):
        types = ["Ingress"]
        if out.get("egress"):
            types.append("Egress")
        out["policyTypes"] = types
    return out


def _drop_empty(value: Any) -> Any:
    if type(value) is dict:
        return {
            k: _drop_empty(v)
            for k, v in value.items()
            if not (k in _OMIT_WHEN_EMPTY and not v) and v is not None
        }
    if type(value) is list:
        return [_drop_empty(v) for v in value]
    return value
