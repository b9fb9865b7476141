"""Protobuf bodies that kubectl's typed client sends decode to the equivalent JSON."""

from __future__ import annotations

import pytest

from kubesim import ApiError, protobuf

# Captured from `kubectl create namespace team-a` and `kubectl create rolebinding rb1
# --role=r1 --serviceaccount=default:sa1 --user=bob` (kubectl 1.37).
NAMESPACE = bytes.fromhex(
    "6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d6112001a0022002a00320038"
    "00420012001a020a001a002200"
)
ROLE_BINDING = bytes.fromhex(
    "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c654269"
    "6e64696e671288010a130a0372623112001a0022002a0032003800420012280a04557365721219726261632e"
    "617574686f72697a6174696f6e2e6b38732e696f1a03626f62220012200a0e536572766963654163636f756e"
    "7412001a03736131220764656661756c741a250a19726261632e617574686f72697a6174696f6e2e6b38732e"
    "696f1204526f6c651a0272311a002200"
)
SECRET = bytes.fromhex(
    "6b3873000a0c0a027631120653656372657412210a120a02733112001a0022002a0032003800420012060a01"
    "611201621a03666f6f1a002200"
)


def test_namespace_body_decodes() -> None:
    """Zero values are dropped, like ``omitempty`` in the JSON encoding."""
    assert protobuf.decode_object(NAMESPACE) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a"},
    }


def test_role_binding_body_decodes() -> None:
    """Nested messages and repeated fields decode in order."""
    assert protobuf.decode_object(ROLE_BINDING) == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "rb1"},
        "subjects": [
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"},
            {"kind": "ServiceAccount", "name": "sa1", "namespace": "default"},
        ],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"},
    }


def test_secret_data_is_base64() -> None:
    """``bytes`` map values become base64 strings, as in JSON."""
    decoded = protobuf.decode_object(SECRET)
    assert decoded["data"] == {"a": "Yg=="}
    assert decoded["type"] == "foo"


def test_unknown_kinds_are_415() -> None:
    """Kinds without a known layout are refused with UnsupportedMediaType."""
    body = bytes.fromhex("6b3873000a150a07617070732f7631120a4465706c6f796d656e7412001a002200")
    with pytest.raises(ApiError) as caught:
        protobuf.decode_object(body)
    assert caught.value.code == 415
