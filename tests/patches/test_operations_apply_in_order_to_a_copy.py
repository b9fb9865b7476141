"""Each RFC 6902 operation does what the RFC says, in list order, on a copy of the translation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import patches
import translate
from tests.patches import objects
from tests.support import kube_schema


def _at(obj: Any, *path: str | int) -> Any:
    for part in path:
        obj = obj[part]
    return obj


@pytest.mark.parametrize(
    ("entries", "path", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/team", "value": "payments"}],
            ("metadata", "labels", "team"),
            "payments",
            id="add-label",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/annotations/example.com~1owner", "value": "a@b.c"}],
            ("metadata", "annotations", "example.com/owner"),
            "a@b.c",
            id="add-annotation-escaped",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/app", "value": "api"}],
            ("metadata", "labels", "app"),
            "api",
            id="add-overwrites-member",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/annotations/owner"}],
            ("metadata", "annotations"),
            {
                "vcluster.loft.sh/managed-annotations": "owner",
                "vcluster.loft.sh/object-name": "web",
                "vcluster.loft.sh/object-namespace": "shop",
                "vcluster.loft.sh/object-uid": "7d0b6c1e-0000-4000-8000-000000000001",
                "vcluster.loft.sh/object-kind": "networking.k8s.io/v1, Kind=NetworkPolicy",
                "vcluster.loft.sh/object-host-name": objects.HOST_NAME,
                "vcluster.loft.sh/object-host-namespace": objects.HNS,
            },
            id="remove-annotation",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/egress/0/to/0/ipBlock/cidr", "value": "10.0.0.0/9"}],
            ("spec", "egress", 0, "to", 0, "ipBlock"),
            {"cidr": "10.0.0.0/9", "except": ["10.1.0.0/16"]},
            id="replace-cidr",
        ),
        pytest.param(
            [{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/component"}],
            ("metadata", "labels"),
            {
                "vcluster.loft.sh/managed-by": objects.VC,
                "vcluster.loft.sh/namespace": "shop",
                "component": "web",
            },
            id="move-label",
        ),
        pytest.param(
            [{"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/component"}],
            ("metadata", "labels", "component"),
            "web",
            id="copy-label",
        ),
        pytest.param(
            [
                {"op": "test", "path": "/metadata/labels/app", "value": "web"},
                {"op": "add", "path": "/metadata/labels/tier", "value": "frontend"},
            ],
            ("metadata", "labels", "tier"),
            "frontend",
            id="test-guards-add",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/0/podSelector/matchExpressions",
                    "value": [{"key": "track", "operator": "NotIn", "values": ["canary"]}],
                }
            ],
            ("spec", "ingress", 0, "from", 0, "podSelector", "matchExpressions"),
            [{"key": "track", "operator": "NotIn", "values": ["canary"]}],
            id="narrow-peer-selector",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/egress/0/to/-",
                    "value": {"ipBlock": {"cidr": "10.2.3.4/32"}},
                }
            ],
            ("spec", "egress", 0, "to", 1),
            {"ipBlock": {"cidr": "10.2.3.4/32"}},
            id="append-ipblock-peer",
        ),
        pytest.param(
            [
                {"op": "add", "path": "/metadata/labels/a", "value": "1"},
                {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/b"},
                {"op": "copy", "from": "/metadata/labels/b", "path": "/metadata/labels/c"},
                {"op": "replace", "path": "/metadata/labels/c", "value": "3"},
                {"op": "remove", "path": "/metadata/labels/b"},
            ],
            ("metadata", "labels"),
            {
                "app": "web",
                "vcluster.loft.sh/managed-by": objects.VC,
                "vcluster.loft.sh/namespace": "shop",
                "c": "3",
            },
            id="in-order",
        ),
    ],
)
def test_operations_change_the_host_object(
    entries: list[dict[str, Any]], path: tuple[str | int, ...], expected: Any
) -> None:
    """Applying the list yields the RFC's result at the touched path, and a valid object."""
    result = objects.apply(entries)
    assert _at(result, *path) == expected
    kube_schema.assert_valid(result)


def test_the_translated_input_is_never_modified() -> None:
    """Neither a successful nor a refused application changes the object passed in."""
    translated = objects.translated()
    before = copy.deepcopy(translated)
    changing = patches.parse(
        [
            {"op": "add", "path": "/metadata/labels/team", "value": "payments"},
            {"op": "remove", "path": "/spec/ingress/0/from/1"},
            {"op": "move", "from": "/metadata/annotations/owner", "path": "/metadata/labels/o"},
        ]
    )
    changing.apply(translated, vcluster=objects.VC)
    assert translated == before
    failing = patches.parse(
        [
            {"op": "add", "path": "/metadata/labels/team", "value": "payments"},
            {"op": "test", "path": "/metadata/labels/team", "value": "other"},
        ]
    )
    with pytest.raises(patches.PatchRefused):
        failing.apply(translated, vcluster=objects.VC)
    assert translated == before


def test_results_share_nothing_with_the_input_or_each_other() -> None:
    """Container values are fresh per result, so changing one result affects nothing else."""
    expression = {"key": "track", "operator": "In", "values": ["stable"]}
    pointer = "/spec/ingress/0/from/0/podSelector/matchExpressions"
    patch_list = patches.parse([{"op": "add", "path": pointer, "value": [expression]}])
    translated = objects.translated()
    first = patch_list.apply(translated, vcluster=objects.VC)
    second = patch_list.apply(translated, vcluster=objects.VC)
    first["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"].append(
        "canary"
    )
    first["metadata"]["labels"]["extra"] = "x"
    assert second["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"] == [
        expression
    ]
    assert "extra" not in translated["metadata"]["labels"]
    assert patch_list.operations[0] == {
        "op": "add",
        "path": pointer,
        "value": [expression],
    }


def test_an_empty_list_returns_the_translation_itself() -> None:
    """With no patches there is nothing to copy or check: the translation is the result."""
    translated = objects.translated()
    assert patches.PatchList().apply(translated, vcluster=objects.VC) is translated
    assert not patches.PatchList()


def test_one_compiled_list_serves_many_objects() -> None:
    """The same list applied to objects of different namespaces patches each on its own."""
    patch_list = patches.parse(
        [
            {"op": "test", "path": "/metadata/labels/app", "value": "web"},
            {
                "op": "copy",
                "from": "/metadata/labels/vcluster.loft.sh~1namespace",
                "path": "/metadata/labels/from",
            },
        ]
    )
    for namespace in ("shop", "billing", "search"):
        virtual = copy.deepcopy(objects.VIRTUAL)
        virtual["metadata"]["namespace"] = namespace
        host = translate.to_host(virtual, objects.TARGET)  # type: ignore[arg-type]
        result = patch_list.apply(host, vcluster=objects.VC)
        assert result["metadata"]["labels"]["from"] == namespace


def test_patch_lists_compare_by_their_operations() -> None:
    """Two lists parsed from equal entries are equal and hash alike (settings compare them)."""
    entries = [{"op": "add", "path": "/metadata/labels/team", "value": "payments"}]
    assert patches.parse(entries) == patches.parse(list(entries))
    assert hash(patches.parse(entries)) == hash(patches.parse(entries))
    assert patches.parse(entries) != patches.PatchList()
