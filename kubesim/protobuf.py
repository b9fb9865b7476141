"""Decoding of Kubernetes protobuf request bodies for the kinds kubectl creates that way.

kubectl's generator commands (``kubectl create namespace``, ``create configmap``, ``create
secret``, ``create serviceaccount``, ``create role``/``rolebinding`` and their cluster
variants, ``auth can-i``, ``auth whoami``) use the typed Go clientset, which sends
``application/vnd.kubernetes.protobuf`` bodies. Every other client kubesim serves
(kubernetes-asyncio, ``kubectl apply/create -f``, Helm's dynamic client) sends JSON, and
responses are always JSON (kubectl accepts both).

So kubesim decodes exactly those kinds: the ``k8s\\0`` envelope (``runtime.Unknown``) and the
message layouts of ``k8s.io/api`` for ObjectMeta, Namespace, ConfigMap, Secret,
ServiceAccount, Role, RoleBinding, ClusterRole, ClusterRoleBinding and the self reviews. The
result is the JSON object a JSON client would have sent (zero values omitted, bytes in
base64), which then takes the normal write path. Other kinds get 415.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubesim import errors

JsonObject = dict[str, Any]
MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"


@dataclass(frozen=True, slots=True)
class Field:
    """One message field: JSON name, value type, repeated or not, zero value kept or not."""

    name: str
    type: Any  # "string" | "bytes" | "int" | "bool" | "time" | ("map", value type) | Message
    repeated: bool = False
    keep_zero: bool = False


Message = Mapping[int, Field]

TIME = "time"
STRING_MAP = ("map", "string")
BYTES_MAP = ("map", "bytes")

OWNER_REFERENCE: Message = {
    5: Field("apiVersion", "string"),
    1: Field("kind", "string"),
    3: Field("name", "string"),
    4: Field("uid", "string"),
    6: Field("controller", "bool", keep_zero=True),
    7: Field("blockOwnerDeletion", "bool", keep_zero=True),
}

OBJECT_META: Message = {
    1: Field("name", "string"),
    2: Field("generateName", "string"),
    3: Field("namespace", "string"),
    4: Field("selfLink", "string"),
    5: Field("uid", "string"),
    6: Field("resourceVersion", "string"),
    7: Field("generation", "int"),
    8: Field("creationTimestamp", TIME),
    9: Field("deletionTimestamp", TIME),
    10: Field("deletionGracePeriodSeconds", "int", keep_zero=True),
    11: Field("labels", STRING_MAP),
    12: Field("annotations", STRING_MAP),
    13: Field("ownerReferences", OWNER_REFERENCE, repeated=True),
    14: Field("finalizers", "string", repeated=True),
}

OBJECT_REFERENCE: Message = {
    1: Field("kind", "string"),
    2: Field("namespace", "string"),
    3: Field("name", "string"),
    4: Field("uid", "string"),
    5: Field("apiVersion", "string"),
    6: Field("resourceVersion", "string"),
    7: Field("fieldPath", "string"),
}

POLICY_RULE: Message = {
    1: Field("verbs", "string", repeated=True),
    2: Field("apiGroups", "string", repeated=True),
    3: Field("resources", "string", repeated=True),
    4: Field("resourceNames", "string", repeated=True),
    5: Field("nonResourceURLs", "string", repeated=True),
}

LABEL_SELECTOR_REQUIREMENT: Message = {
    1: Field("key", "string", keep_zero=True),
    2: Field("operator", "string", keep_zero=True),
    3: Field("values", "string", repeated=True),
}

LABEL_SELECTOR: Message = {
    1: Field("matchLabels", STRING_MAP),
    2: Field("matchExpressions", LABEL_SELECTOR_REQUIREMENT, repeated=True),
}

SUBJECT: Message = {
    1: Field("kind", "string", keep_zero=True),
    2: Field("apiGroup", "string"),
    3: Field("name", "string", keep_zero=True),
    4: Field("namespace", "string"),
}

ROLE_REF: Message = {
    1: Field("apiGroup", "string", keep_zero=True),
    2: Field("kind", "string", keep_zero=True),
    3: Field("name", "string", keep_zero=True),
}

ROLE: Message = {1: Field("metadata", OBJECT_META), 2: Field("rules", POLICY_RULE, repeated=True)}

CLUSTER_ROLE: Message = {
    **ROLE,
    3: Field(
        "aggregationRule",
        {1: Field("clusterRoleSelectors", LABEL_SELECTOR, repeated=True)},
    ),
}

ROLE_BINDING: Message = {
    1: Field("metadata", OBJECT_META),
    2: Field("subjects", SUBJECT, repeated=True),
    3: Field("roleRef", ROLE_REF, keep_zero=True),
}

RESOURCE_ATTRIBUTES: Message = {
    1: Field("namespace", "string"),
    2: Field("verb", "string"),
    3: Field("group", "string"),
    4: Field("version", "string"),
    5: Field("resource", "string"),
    6: Field("subresource", "string"),
    7: Field("name", "string"),
}

SELF_SUBJECT_ACCESS_REVIEW: Message = {
    1: Field("metadata", OBJECT_META),
    2: Field(
        "spec",
        {
            1: Field("resourceAttributes", RESOURCE_ATTRIBUTES),
            2: Field(
                "nonResourceAttributes", {1: Field("path", "string"), 2: Field("verb", "string")}
            ),
        },
    ),
}

DELETE_OPTIONS: Message = {
    1: Field("gracePeriodSeconds", "int", keep_zero=True),
    2: Field("preconditions", {1: Field("uid", "string"), 2: Field("resourceVersion", "string")}),
    3: Field("orphanDependents", "bool"),
    4: Field("propagationPolicy", "string"),
    5: Field("dryRun", "string", repeated=True),
}
"""Helm (client-go) sends DELETE bodies as protobuf; the group is meta.k8s.io or the core v1."""

KINDS: dict[tuple[str, str], Message] = {
    ("meta.k8s.io/v1", "DeleteOptions"): DELETE_OPTIONS,
    ("v1", "DeleteOptions"): DELETE_OPTIONS,
    ("v1", "Namespace"): {
        1: Field("metadata", OBJECT_META),
        2: Field("spec", {1: Field("finalizers", "string", repeated=True)}),
        3: Field("status", {1: Field("phase", "string")}),
    },
    ("v1", "ConfigMap"): {
        1: Field("metadata", OBJECT_META),
        2: Field("data", STRING_MAP),
        3: Field("binaryData", BYTES_MAP),
        4: Field("immutable", "bool", keep_zero=True),
    },
    ("v1", "Secret"): {
        1: Field("metadata", OBJECT_META),
        2: Field("data", BYTES_MAP),
        3: Field("type", "string"),
        4: Field("stringData", STRING_MAP),
        5: Field("immutable", "bool", keep_zero=True),
    },
    ("v1", "ServiceAccount"): {
        1: Field("metadata", OBJECT_META),
        2: Field("secrets", OBJECT_REFERENCE, repeated=True),
        3: Field("imagePullSecrets", {1: Field("name", "string")}, repeated=True),
        4: Field("automountServiceAccountToken", "bool", keep_zero=True),
    },
    ("rbac.authorization.k8s.io/v1", "Role"): ROLE,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): CLUSTER_ROLE,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ROLE_BINDING,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ROLE_BINDING,
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): SELF_SUBJECT_ACCESS_REVIEW,
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {1: Field("metadata", OBJECT_META)},
}

_UNKNOWN: Message = {
    1: Field("typeMeta", {1: Field("apiVersion", "string"), 2: Field("kind", "string")}),
    2: Field("raw", "bytes"),
    3: Field("contentEncoding", "string"),
    4: Field("contentType", "string"),
}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        shift = result = 0
        while True:
            if self.pos >= len(self.data):
                raise ValueError("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def fields(self) -> list[tuple[int, int, Any]]:
        out: list[tuple[int, int, Any]] = []
        while self.pos < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                value: Any = self.varint()
            elif wire == 2:
                length = self.varint()
                value = self.data[self.pos : self.pos + length]
                if len(value) != length:
                    raise ValueError("truncated field")
                self.pos += length
            elif wire == 1:
                value = self.data[self.pos : self.pos + 8]
                self.pos += 8
            elif wire == 5:
                value = self.data[self.pos : self.pos + 4]
                self.pos += 4
            else:
                raise ValueError(f"unsupported wire type {wire}")
            out.append((number, wire, value))
        return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: Any, value: Any) -> Any:
    if kind == "string":
        return bytes(value).decode()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "int":
        return _signed(int(value))
    if kind == "bool":
        return bool(value)
    if kind == TIME:
        msg = {n: v for n, _, v in _Reader(bytes(value)).fields()}
        seconds = _signed(int(msg.get(1, 0)))
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else None
    raise ValueError(f"unknown field type {kind!r}")


def _is_zero(value: Any) -> bool:
    return value in ("", 0, False, None) or value == {} or value == []


def decode_message(data: bytes, message: Message) -> JsonObject:
    """Decode one message into a JSON-shaped dict, dropping zero values like ``omitempty``."""
    out: JsonObject = {}
    for number, _, raw in _Reader(data).fields():
        spec = message.get(number)
        if spec is None:
            continue
        kind = spec.type
        if isinstance(kind, tuple):
            entry = {n: v for n, _, v in _Reader(bytes(raw)).fields()}
            key = bytes(entry.get(1, b"")).decode()
            out.setdefault(spec.name, {})[key] = _scalar(kind[1], entry.get(2, b""))
            continue
        if isinstance(kind, Mapping):
            value: Any = decode_message(bytes(raw), kind)
        else:
            value = _scalar(kind, raw)
        if spec.repeated:
            out.setdefault(spec.name, []).append(value)
        elif spec.keep_zero or not _is_zero(value):
            out[spec.name] = value
    return out


def decode_object(body: bytes) -> JsonObject:
    """Decode a ``k8s\\0``-framed object; 415 for kinds kubesim has no layout for."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("protobuf body does not start with the k8s\\0 envelope")
    try:
        unknown = decode_message(body[len(MAGIC) :], _UNKNOWN)
        type_meta = unknown.get("typeMeta") or {}
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        layout = KINDS.get((api_version, kind))
        if layout is None:
            raise errors.unsupported_media_type(["application/json", "application/yaml"])
        obj = decode_message(base64.b64decode(unknown.get("raw", "")), layout)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error decoding protobuf body: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **obj}
