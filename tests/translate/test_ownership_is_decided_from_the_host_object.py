"""SPEC §3 ownership: a host object is ours only if it is in HNS, marked for VC, and maps back."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import translate
from tests.translate.tables import HNS, TARGET, VC, policy, to_host

OBJECT_NAME = "vcluster.loft.sh/object-name"
OBJECT_NAMESPACE = "vcluster.loft.sh/object-namespace"


def _ours() -> dict[str, Any]:
    return to_host(policy(name="web", namespace="default"))


def test_a_translated_object_maps_back_to_its_virtual_key() -> None:
    """virtual_key_of(to_host(v)) is v's namespace and name, and is_owned agrees."""
    assert translate.virtual_key_of(_ours(), TARGET) == translate.ObjectKey("default", "web")
    assert translate.is_owned(_ours(), TARGET)


def test_long_names_map_back_through_the_hash() -> None:
    """A hashed host name still maps back, because the annotations hold the full virtual name."""
    name = "n" * 200
    host = to_host(policy(name=name, namespace="data"))
    assert translate.virtual_key_of(host, TARGET) == translate.ObjectKey("data", name)


def _labels(host: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = host["metadata"]["labels"]
    return labels


def _annotations(host: dict[str, Any]) -> dict[str, str]:
    annotations: dict[str, str] = host["metadata"]["annotations"]
    return annotations


Edit = Callable[[dict[str, Any]], None]

FOREIGN: list[Any] = [
    pytest.param(lambda h: _labels(h).pop("vcluster.loft.sh/managed-by"), id="no-marker-label"),
    pytest.param(
        lambda h: _labels(h).update({"vcluster.loft.sh/managed-by": "other"}),
        id="another-vclusters-marker",
    ),
    pytest.param(
        lambda h: _labels(h).update({"vcluster.loft.sh/managed-by": ""}), id="empty-marker"
    ),
    pytest.param(lambda h: h["metadata"].pop("labels"), id="no-labels"),
    pytest.param(lambda h: h["metadata"].update(namespace="elsewhere"), id="wrong-namespace"),
    pytest.param(lambda h: h["metadata"].pop("namespace"), id="no-namespace"),
    pytest.param(lambda h: h["metadata"].update(name="hand-written"), id="name-does-not-map-back"),
    pytest.param(
        lambda h: _annotations(h).update({OBJECT_NAME: "other"}), id="object-name-elsewhere"
    ),
    pytest.param(
        lambda h: _annotations(h).update({OBJECT_NAMESPACE: "other"}),
        id="object-namespace-elsewhere",
    ),
    pytest.param(lambda h: _annotations(h).pop(OBJECT_NAME), id="no-object-name"),
    pytest.param(lambda h: _annotations(h).pop(OBJECT_NAMESPACE), id="no-object-namespace"),
    pytest.param(lambda h: _annotations(h).update({OBJECT_NAME: ""}), id="empty-object-name"),
    pytest.param(lambda h: h["metadata"].pop("annotations"), id="no-annotations"),
    pytest.param(lambda h: h.pop("metadata"), id="no-metadata"),
]


@pytest.mark.parametrize("edit", FOREIGN)
def test_foreign_objects_are_not_ours(edit: Edit) -> None:
    """Anything that fails one ownership condition is foreign: never written, never deleted."""
    host = _ours()
    edit(host)
    assert translate.virtual_key_of(host, TARGET) is None
    assert not translate.is_owned(host, TARGET)


def test_another_vclusters_copy_in_the_same_namespace_is_not_ours() -> None:
    """A copy made by the syncer of vCluster "other" is foreign to "vc1", and vice versa."""
    other = translate.Target(vcluster="other", host_namespace=HNS)
    theirs = to_host(policy(name="web", namespace="default"), other)
    assert translate.virtual_key_of(theirs, TARGET) is None
    assert translate.virtual_key_of(_ours(), other) is None
    assert translate.virtual_key_of(theirs, other) == translate.ObjectKey("default", "web")


def test_extra_host_side_labels_and_annotations_do_not_change_ownership() -> None:
    """Labels and annotations added on the host by others do not make a copy foreign."""
    host = copy.deepcopy(_ours())
    _labels(host)["team"] = "platform"
    _annotations(host)["note"] = "x"
    assert translate.virtual_key_of(host, TARGET) == translate.ObjectKey("default", "web")


def test_ownership_uses_the_vcluster_name_in_the_host_name() -> None:
    """Names map back only through host_name with this VC: a copy named for VC "x" is foreign."""
    host = _ours()
    host["metadata"]["name"] = "web-x-default-x-x"
    assert translate.virtual_key_of(host, TARGET) is None
    assert VC in _ours()["metadata"]["name"]
