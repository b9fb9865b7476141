"""OpenAPI schemas generated from kubesim's own typed schemas (:mod:`kubesim.schema`).

``kubectl explain`` reads a kind's schema from ``/openapi/v3/<group-version>``, and kubectl's
client-side validation and older clients read ``/openapi/v2``. Both are built here from the
same :class:`~kubesim.schema.Struct` trees that decode request bodies, so what kubectl is told
is exactly what kubesim accepts: field names, JSON types, list semantics
(``x-kubernetes-list-type``: NetworkPolicy's lists are atomic, ``finalizers`` a set,
``ownerReferences`` a map keyed by ``uid``) and atomic structs (``LabelSelector``).

Only kinds with a typed schema get one; the others (custom kinds and the generic built-ins)
are left out, so kubectl falls back to its compiled-in types for them, as it does for a CRD
without a structural schema.
"""

from __future__ import annotations

from typing import Any, Literal

from kubesim import managed, schema
from kubesim.resources import ResourceType

JsonObject = dict[str, Any]
Flavour = Literal["v2", "v3"]

_META_PACKAGE = "io.k8s.apimachinery.pkg.apis.meta.v1"
_META_TYPES = frozenset(
    {"ObjectMeta", "OwnerReference", "LabelSelector", "LabelSelectorRequirement"}
)
_LIST_TYPES: dict[tuple[str, str], JsonObject] = {
    ("ObjectMeta", "finalizers"): {
        "x-kubernetes-list-type": "set",
        "x-kubernetes-patch-strategy": "merge",
    },
    ("ObjectMeta", "ownerReferences"): {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["uid"],
        "x-kubernetes-patch-merge-key": "uid",
        "x-kubernetes-patch-strategy": "merge",
    },
}
_FORMATS: dict[tuple[str, str], JsonObject] = {
    ("ObjectMeta", "creationTimestamp"): {"type": "string", "format": "date-time"},
    ("ObjectMeta", "deletionTimestamp"): {"type": "string", "format": "date-time"},
}


def package(rtype: ResourceType) -> str:
    """The OpenAPI name prefix of a kind's own types, as upstream's generator names them."""
    if not rtype.group:
        return f"io.k8s.api.core.{rtype.version}"
    if rtype.group.endswith(".k8s.io") or "." not in rtype.group:
        return f"io.k8s.api.{rtype.group.split('.')[0]}.{rtype.version}"
    return ".".join(reversed(rtype.group.split("."))) + f".{rtype.version}"


def typed(rtype: ResourceType) -> bool:
    """Whether kubesim knows the kind's fields (and so publishes a schema for it)."""
    return rtype.body is not schema.GENERIC and not rtype.body.preserve


def definitions(types: list[ResourceType], flavour: Flavour) -> JsonObject:
    """Named schemas of every typed kind in ``types`` and of the types they use."""
    out: JsonObject = {}
    for rtype in types:
        if typed(rtype):
            _Builder(package(rtype), flavour, out).kind(rtype)
    return dict(sorted(out.items()))


class _Builder:
    def __init__(self, own_package: str, flavour: Flavour, out: JsonObject) -> None:
        self.package = own_package
        self.flavour = flavour
        self.out = out

    def name(self, struct: schema.Struct) -> str:
        prefix = _META_PACKAGE if struct.go_type in _META_TYPES else self.package
        return f"{prefix}.{struct.go_type}"

    def ref(self, struct: schema.Struct) -> JsonObject:
        name = self.name(struct)
        if name not in self.out:
            self.out[name] = {}  # reserved first: schemas may refer to themselves
            self.out[name] = self.struct(struct)
        base = "#/definitions/" if self.flavour == "v2" else "#/components/schemas/"
        return {"$ref": base + name}

    def kind(self, rtype: ResourceType) -> None:
        name = self.name(rtype.body)
        doc = self.struct(rtype.body)
        doc["description"] = f"{rtype.kind} ({rtype.api_version}), as kubesim serves it."
        doc["x-kubernetes-group-version-kind"] = [
            {"group": rtype.group, "kind": rtype.kind, "version": rtype.version}
        ]
        self.out[name] = doc

    def struct(self, struct: schema.Struct) -> JsonObject:
        properties = {
            field: self.field(struct.go_type, field, node)
            for field, node, _ in sorted(struct.fields, key=lambda f: f[0])
        }
        out: JsonObject = {"type": "object", "properties": properties}
        if struct.go_type in managed.ATOMIC_STRUCTS:
            out["x-kubernetes-map-type"] = "atomic"
        if struct.preserve:
            out["x-kubernetes-preserve-unknown-fields"] = True
        return out

    def field(self, owner: str, field: str, node: schema.Node) -> JsonObject:
        if (owner, field) in _FORMATS:
            return dict(_FORMATS[owner, field])
        out = self.node(node, top=True)
        if isinstance(node, schema.ListOf):
            out.update(_LIST_TYPES.get((owner, field), {"x-kubernetes-list-type": "atomic"}))
        return out

    def node(self, node: schema.Node, *, top: bool = False) -> JsonObject:
        """A field's schema; a struct is a reference (wrapped in ``allOf`` for a v3 property,
        as upstream's generator does so the property may carry a default)."""
        if isinstance(node, schema.Struct):
            target = self.ref(node)
            return {"allOf": [target]} if top and self.flavour == "v3" else target
        if isinstance(node, schema.ListOf):
            return {"type": "array", "items": self.node(node.item)}
        if isinstance(node, schema.MapOf):
            return {"type": "object", "additionalProperties": self.node(node.value)}
        return self.scalar(node)

    def scalar(self, node: schema.Scalar) -> JsonObject:
        if node.kind == "string":
            return {"type": "string"}
        if node.kind == "bool":
            return {"type": "boolean"}
        if node.kind == "int":
            return {"type": "integer", "format": node.go_type or "int64"}
        if node.kind == "intstr":
            if self.flavour == "v2":
                return {"type": "string", "format": "int-or-string"}
            return {"x-kubernetes-int-or-string": True}
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def swagger(types: list[ResourceType], version: str) -> JsonObject:
    """The ``/openapi/v2`` document: every typed kind's definitions, no operations."""
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": {},
        "definitions": definitions(types, "v2"),
    }
