"""Typed decoding of request bodies: pruning, ``omitempty`` and unknown-field detection.

The real API server decodes JSON into Go structs and encodes them back, which silently shapes
what clients read: unknown fields disappear (or fail with ``fieldValidation=Strict``), ``null``
and empty lists vanish where the Go field is ``omitempty``, ``podSelector: {}`` is always
present, and keys come out in struct order. A controller that compares "what I wrote" with
"what I read back" depends on all of that, so kubesim replays the round trip with a small
schema per kind instead of storing bodies verbatim.

Kinds without a schema (most of the generic registrations) keep their body as sent, except
``metadata``, which is always decoded as ``ObjectMeta``.

Longer than most modules on purpose: besides the decoder it holds the typed schemas of the
kinds kubesim models (ObjectMeta, NetworkPolicy, Namespace), which read best side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from kubesim import errors

ScalarKind = Literal["string", "int", "bool", "intstr", "any"]
Presence = Literal["always", "omitempty", "pointer"]
"""How a field is encoded: ``always`` even when zero, ``omitempty`` dropped when zero,
``pointer`` dropped only when null or absent (an empty ``{}`` or ``""`` survives)."""


@dataclass(frozen=True, slots=True)
class Scalar:
    """A leaf value; ``go_type`` is only used in decoding error messages."""

    kind: ScalarKind
    go_type: str = ""


@dataclass(frozen=True, slots=True)
class ListOf:
    """A JSON array of one item type."""

    item: Node


@dataclass(frozen=True, slots=True)
class MapOf:
    """A JSON object with arbitrary keys and one value type (labels, annotations)."""

    value: Node


@dataclass(frozen=True, slots=True)
class Struct:
    """A Go struct: known fields in encoding order; ``preserve`` keeps unknown fields."""

    go_type: str
    fields: tuple[tuple[str, Node, Presence], ...]
    preserve: bool = False
    _index: dict[str, tuple[Node, Presence]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self._index.update({name: (node, presence) for name, node, presence in self.fields})

    def lookup(self, name: str) -> tuple[Node, Presence] | None:
        """The schema of a field, or ``None`` when the field is unknown."""
        return self._index.get(name)


Node = Scalar | ListOf | MapOf | Struct

STRING = Scalar("string", "string")
INT32 = Scalar("int", "int32")
INT64 = Scalar("int", "int64")
BOOL = Scalar("bool", "bool")
INT_OR_STRING = Scalar("intstr", "intstr.IntOrString")
ANY = Scalar("any")
STRING_MAP = MapOf(STRING)
STRING_LIST = ListOf(STRING)


class DecodeError(Exception):
    """A value of the wrong JSON type, reported as a 400 by the caller."""


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _is_zero(value: Any) -> bool:
    return (
        value is None or value == "" or value == 0 or value is False or value == [] or value == {}
    )


@dataclass(slots=True)
class _Walk:
    unknown: list[str] = field(default_factory=list)

    def scalar(self, node: Scalar, value: Any, path: str) -> Any:
        kind = node.kind
        if kind == "any" or value is None:
            return value
        ok = (
            (kind == "string" and isinstance(value, str))
            or (
                kind == "int"
                and isinstance(value, int)
                and not isinstance(value, bool)
                and (node.go_type != "int32" or -(2**31) <= value < 2**31)
            )
            or (kind == "bool" and isinstance(value, bool))
            or (
                kind == "intstr"
                and (
                    isinstance(value, str)
                    or (
                        isinstance(value, int)
                        and not isinstance(value, bool)
                        and -(2**31) <= value < 2**31
                    )
                )
            )
        )
        if not ok:
            raise DecodeError(
                f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                f"{path} of type {node.go_type}"
            )
        return value

    def value(self, node: Node, value: Any, path: str) -> Any:
        if isinstance(node, Scalar):
            return self.scalar(node, value, path)
        if value is None:
            return None
        if isinstance(node, Struct):
            if not isinstance(value, dict):
                raise DecodeError(
                    f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                    f"{path} of type {node.go_type}"
                )
            return self.struct(node, value, path)
        if isinstance(node, ListOf):
            if not isinstance(value, list):
                raise DecodeError(
                    f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                    f"{path} of type []"
                )
            return [self.value(node.item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            raise DecodeError(
                f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                f"{path} of type map[string]"
            )
        return {k: self.value(node.value, v, f"{path}.{k}") for k, v in value.items()}

    def struct(self, node: Struct, value: dict[str, Any], path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, child, presence in node.fields:
            if name not in value:
                if presence == "always":
                    out[name] = _zero(child)
                continue
            decoded = self.value(child, value[name], f"{path}.{name}" if path else name)
            if presence == "omitempty" and _is_zero(decoded):
                continue
            if presence == "pointer" and decoded is None:
                continue
            if presence == "always" and decoded is None:
                decoded = _zero(child)
            out[name] = decoded
        for name, extra in value.items():
            if node.lookup(name) is None:
                if node.preserve:
                    out[name] = extra
                else:
                    self.unknown.append(f"{path}.{name}" if path else name)
        return out


def _zero(node: Node) -> Any:
    if isinstance(node, Struct):
        return _Walk().struct(node, {}, "")
    if isinstance(node, Scalar):
        return {"string": "", "int": 0, "bool": False}.get(node.kind)
    return None


class _Slow(Exception):
    """Raised by the compiled fast path on anything unusual (handled by the slow walker)."""


Decoder = Callable[[Any], Any]
_COMPILED: dict[int, tuple[Node, Decoder]] = {}
_INT32 = range(-(2**31), 2**31)


def _compile(node: Node) -> Decoder:
    """A specialised decoder for ``node`` that does no path bookkeeping.

    Decoding is on the hot path of every write; building field paths and dispatching on node
    types for each value costs more than the rest of a create. The compiled decoder gives up
    (``_Slow``) on a type error or an unknown field, and :func:`decode` then reruns the
    path-tracking walker to produce upstream's messages.
    """
    cached = _COMPILED.get(id(node))
    if cached is not None:
        return cached[1]
    decoder = _build(node)
    _COMPILED[id(node)] = (node, decoder)
    return decoder


def _build(node: Node) -> Decoder:
    if isinstance(node, Scalar):
        return _scalar_decoder(node)
    if isinstance(node, ListOf):
        item = _compile(node.item)

        def list_decoder(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not list:
                raise _Slow
            return [item(v) for v in value]

        return list_decoder
    if isinstance(node, MapOf):
        inner = _compile(node.value)

        def map_decoder(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not dict:
                raise _Slow
            return {k: inner(v) for k, v in value.items()}

        return map_decoder
    return _struct_decoder(node)


def _scalar_decoder(node: Scalar) -> Decoder:
    kind = node.kind
    if kind == "any":
        return lambda value: value

    def check(value: Any) -> Any:
        if value is None:
            return None
        t = type(value)
        if kind == "string":
            ok = t is str
        elif kind == "int":
            ok = t is int and (node.go_type != "int32" or value in _INT32)
        elif kind == "bool":
            ok = t is bool
        else:
            ok = t is str or (t is int and value in _INT32)
        if not ok:
            raise _Slow
        return value

    return check


def _struct_decoder(node: Struct) -> Decoder:
    plan = [(name, _compile(child), presence, child) for name, child, presence in node.fields]
    known = frozenset(name for name, _, _ in node.fields)
    preserve = node.preserve

    def struct_decoder(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not dict:
            raise _Slow
        out: dict[str, Any] = {}
        for name, decoder, presence, child in plan:
            if name in value:
                decoded = decoder(value[name])
                if presence == "omitempty":
                    if not decoded:
                        continue
                elif presence == "pointer":
                    if decoded is None:
                        continue
                elif decoded is None:
                    decoded = _zero(child)
                out[name] = decoded
            elif presence == "always":
                out[name] = _zero(child)
        if not known.issuperset(value):
            if not preserve:
                raise _Slow
            for name, extra in value.items():
                if name not in known:
                    out[name] = extra
        return out

    return struct_decoder


def decode(node: Struct, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Round-trip ``obj`` through ``node``: returns the normalized object and unknown paths.

    Raises :class:`DecodeError` when a value has the wrong JSON type.
    """
    try:
        return _compile(node)(obj), []
    except _Slow:
        walk = _Walk()
        return walk.struct(node, obj, ""), walk.unknown


# --- ObjectMeta -------------------------------------------------------------------------------

OWNER_REFERENCE = Struct(
    "OwnerReference",
    (
        ("apiVersion", STRING, "always"),
        ("kind", STRING, "always"),
        ("name", STRING, "always"),
        ("uid", STRING, "always"),
        ("controller", BOOL, "pointer"),
        ("blockOwnerDeletion", BOOL, "pointer"),
    ),
)

OBJECT_META = Struct(
    "ObjectMeta",
    (
        ("name", STRING, "omitempty"),
        ("generateName", STRING, "omitempty"),
        ("namespace", STRING, "omitempty"),
        ("selfLink", STRING, "omitempty"),
        ("uid", STRING, "omitempty"),
        ("resourceVersion", STRING, "omitempty"),
        ("generation", INT64, "omitempty"),
        ("creationTimestamp", ANY, "pointer"),
        ("deletionTimestamp", ANY, "pointer"),
        ("deletionGracePeriodSeconds", INT64, "pointer"),
        ("labels", STRING_MAP, "omitempty"),
        ("annotations", STRING_MAP, "omitempty"),
        ("ownerReferences", ListOf(OWNER_REFERENCE), "omitempty"),
        ("finalizers", STRING_LIST, "omitempty"),
        ("managedFields", ListOf(ANY), "omitempty"),
    ),
)


def kind_struct(go_type: str, *body: tuple[str, Node, Presence], preserve: bool = False) -> Struct:
    """A top-level kind: ``kind``, ``apiVersion``, ``metadata`` followed by its own fields."""
    head: tuple[tuple[str, Node, Presence], ...] = (
        ("kind", STRING, "omitempty"),
        ("apiVersion", STRING, "omitempty"),
        ("metadata", OBJECT_META, "always"),
    )
    return Struct(go_type, head + body, preserve=preserve)


GENERIC = kind_struct("Object", preserve=True)
"""Schema for kinds without a typed body: only metadata is decoded, the rest is kept."""

# --- networking.k8s.io/v1 NetworkPolicy -------------------------------------------------------

LABEL_SELECTOR_REQUIREMENT = Struct(
    "LabelSelectorRequirement",
    (
        ("key", STRING, "always"),
        ("operator", STRING, "always"),
        ("values", STRING_LIST, "omitempty"),
    ),
)

LABEL_SELECTOR = Struct(
    "LabelSelector",
    (
        ("matchLabels", STRING_MAP, "omitempty"),
        ("matchExpressions", ListOf(LABEL_SELECTOR_REQUIREMENT), "omitempty"),
    ),
)

IP_BLOCK = Struct("IPBlock", (("cidr", STRING, "always"), ("except", STRING_LIST, "omitempty")))

NETWORK_POLICY_PEER = Struct(
    "NetworkPolicyPeer",
    (
        ("podSelector", LABEL_SELECTOR, "pointer"),
        ("namespaceSelector", LABEL_SELECTOR, "pointer"),
        ("ipBlock", IP_BLOCK, "pointer"),
    ),
)

NETWORK_POLICY_PORT = Struct(
    "NetworkPolicyPort",
    (
        ("protocol", STRING, "pointer"),
        ("port", INT_OR_STRING, "pointer"),
        ("endPort", INT32, "pointer"),
    ),
)

NETWORK_POLICY_INGRESS_RULE = Struct(
    "NetworkPolicyIngressRule",
    (
        ("ports", ListOf(NETWORK_POLICY_PORT), "omitempty"),
        ("from", ListOf(NETWORK_POLICY_PEER), "omitempty"),
    ),
)

NETWORK_POLICY_EGRESS_RULE = Struct(
    "NetworkPolicyEgressRule",
    (
        ("ports", ListOf(NETWORK_POLICY_PORT), "omitempty"),
        ("to", ListOf(NETWORK_POLICY_PEER), "omitempty"),
    ),
)

NETWORK_POLICY_SPEC = Struct(
    "NetworkPolicySpec",
    (
        ("podSelector", LABEL_SELECTOR, "always"),
        ("ingress", ListOf(NETWORK_POLICY_INGRESS_RULE), "omitempty"),
        ("egress", ListOf(NETWORK_POLICY_EGRESS_RULE), "omitempty"),
        ("policyTypes", STRING_LIST, "omitempty"),
    ),
)

NETWORK_POLICY = kind_struct("NetworkPolicy", ("spec", NETWORK_POLICY_SPEC, "always"))

# --- core/v1 Namespace ------------------------------------------------------------------------

NAMESPACE = kind_struct(
    "Namespace",
    ("spec", Struct("NamespaceSpec", (("finalizers", STRING_LIST, "omitempty"),)), "always"),
    (
        "status",
        Struct(
            "NamespaceStatus",
            (("phase", STRING, "omitempty"), ("conditions", ListOf(ANY), "omitempty")),
        ),
        "always",
    ),
)


def decode_or_raise(
    node: Struct, obj: dict[str, Any], kind: str, version: str
) -> tuple[dict[str, Any], list[str]]:
    """:func:`decode`, turning type errors into the 400 the real server sends."""
    try:
        return decode(node, obj)
    except DecodeError as exc:
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: {exc}'
        ) from exc
