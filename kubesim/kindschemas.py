"""Typed schemas of the Lease and the core/v1 Event, the kinds the syncer writes besides policies.

Typing them makes kubesim encode them as kube-apiserver does: an Event always carries
``eventTime``, ``firstTimestamp`` and ``lastTimestamp`` (``null`` when unset, as Go's
``metav1.Time`` structs ignore ``omitempty``), ``source: {}``, empty ``reportingComponent`` and
``reportingInstance``; unknown fields follow ``fieldValidation``; ``kubectl explain`` gets
their schemas (:mod:`kubesim.openapi`); ``managedFields`` treats ``involvedObject`` as the
atomic ``ObjectReference`` it is upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubesim import errors
from kubesim.errors import FieldError
from kubesim.schema import ANY, INT32, STRING, Struct, kind_struct

LEASE = kind_struct(
    "Lease",
    (
        "spec",
        Struct(
            "LeaseSpec",
            (
                ("holderIdentity", STRING, "pointer"),
                ("leaseDurationSeconds", INT32, "pointer"),
                ("acquireTime", ANY, "pointer"),
                ("renewTime", ANY, "pointer"),
                ("leaseTransitions", INT32, "pointer"),
                ("strategy", STRING, "pointer"),
                ("preferredHolder", STRING, "pointer"),
            ),
        ),
        "always",
    ),
)

OBJECT_REFERENCE = Struct(
    "ObjectReference",
    tuple(
        (name, STRING, "omitempty")
        for name in (
            "kind",
            "namespace",
            "name",
            "uid",
            "apiVersion",
            "resourceVersion",
            "fieldPath",
        )
    ),
)

EVENT = kind_struct(
    "Event",
    ("involvedObject", OBJECT_REFERENCE, "always"),
    ("reason", STRING, "omitempty"),
    ("message", STRING, "omitempty"),
    (
        "source",
        Struct("EventSource", (("component", STRING, "omitempty"), ("host", STRING, "omitempty"))),
        "always",
    ),
    ("firstTimestamp", ANY, "always"),
    ("lastTimestamp", ANY, "always"),
    ("count", INT32, "omitempty"),
    ("type", STRING, "omitempty"),
    ("eventTime", ANY, "always"),
    (
        "series",
        Struct("EventSeries", (("count", INT32, "omitempty"), ("lastObservedTime", ANY, "always"))),
        "pointer",
    ),
    ("action", STRING, "omitempty"),
    ("related", OBJECT_REFERENCE, "pointer"),
    ("reportingComponent", STRING, "always"),
    ("reportingInstance", STRING, "always"),
)


def validate_event(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[FieldError]:
    """The core/v1 rule clients trip over: the involved object lives in the Event's namespace."""
    del old
    namespace = (obj.get("metadata") or {}).get("namespace", "")
    involved = (obj.get("involvedObject") or {}).get("namespace", "")
    if involved and involved != namespace:
        return [
            errors.invalid("involvedObject.namespace", involved, "does not match event.namespace")
        ]
    return []
