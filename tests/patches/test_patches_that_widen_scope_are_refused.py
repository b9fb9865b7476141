"""Patches may add and narrow, never widen: every scoping invariant of SPEC §4 is re-checked."""

from __future__ import annotations

from typing import Any

import pytest

import patches
from tests.patches import objects
from tests.support import kube_schema

MB = "vcluster.loft.sh~1managed-by"
NS = "vcluster.loft.sh~1namespace"
CB = "vcluster.loft.sh~1controlled-by"
OWNERSHIP = [
    "vcluster.loft.sh/object-name",
    "vcluster.loft.sh/object-namespace",
    "vcluster.loft.sh/object-uid",
    "vcluster.loft.sh/object-kind",
    "vcluster.loft.sh/object-host-name",
    "vcluster.loft.sh/object-host-namespace",
]


def _ownership(op: str) -> list[Any]:
    cases = []
    for key in OWNERSHIP:
        path = "/metadata/annotations/" + key.replace("/", "~1")
        entry = {"op": op, "path": path} | ({"value": "other"} if op == "replace" else {})
        cases.append(pytest.param([entry], path, id=f"{op}-annotation-{key.rsplit('/', 1)[1]}"))
    return cases


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        # identity: orphan collection and collision detection depend on it
        pytest.param(
            [{"op": "replace", "path": "/metadata/name", "value": "web"}],
            "/metadata/name must stay",
            id="rename",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/namespace", "value": "kube-system"}],
            "/metadata/namespace must stay",
            id="change-namespace",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/namespace"}],
            "/metadata/namespace must stay",
            id="remove-namespace",
        ),
        pytest.param(
            [{"op": "remove", "path": f"/metadata/labels/{MB}"}],
            f"/metadata/labels/{MB} must stay",
            id="remove-managed-by-label",
        ),
        pytest.param(
            [{"op": "replace", "path": f"/metadata/labels/{MB}", "value": "vc2"}],
            f"/metadata/labels/{MB} must stay",
            id="change-managed-by-label",
        ),
        pytest.param(
            [{"op": "remove", "path": f"/metadata/labels/{NS}"}],
            f"/metadata/labels/{NS} must stay",
            id="remove-namespace-label",
        ),
        pytest.param(
            [{"op": "replace", "path": f"/metadata/labels/{NS}", "value": "billing"}],
            f"/metadata/labels/{NS} must stay",
            id="change-namespace-label",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/labels", "value": {"team": "a"}}],
            f"/metadata/labels/{MB} must stay",
            id="replace-all-labels",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/annotations"}],
            "/metadata/annotations/vcluster.loft.sh~1object-name must stay",
            id="remove-all-annotations",
        ),
        *_ownership("replace"),
        *_ownership("remove"),
        # spec.podSelector must keep selecting only this vCluster's pods of this namespace
        pytest.param(
            [{"op": "remove", "path": f"/spec/podSelector/matchLabels/{MB}"}],
            f"/spec/podSelector/matchLabels/{MB} must be 'vc1'",
            id="pod-selector-drops-managed-by",
        ),
        pytest.param(
            [{"op": "replace", "path": f"/spec/podSelector/matchLabels/{MB}", "value": "vc2"}],
            f"/spec/podSelector/matchLabels/{MB} must be 'vc1'",
            id="pod-selector-other-vcluster",
        ),
        pytest.param(
            [{"op": "remove", "path": f"/spec/podSelector/matchLabels/{NS}"}],
            f"/spec/podSelector/matchLabels/{NS} must be 'shop'",
            id="pod-selector-drops-namespace",
        ),
        pytest.param(
            [{"op": "replace", "path": f"/spec/podSelector/matchLabels/{NS}", "value": "billing"}],
            f"/spec/podSelector/matchLabels/{NS} must be 'shop'",
            id="pod-selector-other-namespace",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/podSelector", "value": {}}],
            f"/spec/podSelector/matchLabels/{MB} must be 'vc1'",
            id="pod-selector-emptied",
        ),
        pytest.param(
            [{"op": "move", "from": f"/spec/podSelector/matchLabels/{MB}", "path": "/spec/x"}],
            f"/spec/podSelector/matchLabels/{MB} must be 'vc1'",
            id="pod-selector-scope-moved-away",
        ),
        # peers must stay ipBlocks or pod selectors of this vCluster, never namespace selectors
        pytest.param(
            [{"op": "add", "path": "/spec/ingress/0/from/-", "value": {"namespaceSelector": {}}}],
            "/spec/ingress/0/from/2/namespaceSelector is not allowed",
            id="add-namespace-selector-peer",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/0/namespaceSelector",
                    "value": {"matchLabels": {"team": "a"}},
                }
            ],
            "/spec/ingress/0/from/0/namespaceSelector is not allowed",
            id="namespace-selector-on-scoped-peer",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/ingress/0/from/-", "value": {"podSelector": {}}}],
            f"/spec/ingress/0/from/2/podSelector/matchLabels/{MB} must be 'vc1'",
            id="add-unscoped-peer",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/egress/-",
                    "value": {"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]},
                }
            ],
            f"/spec/egress/1/to/0/podSelector/matchLabels/{MB} must be 'vc1'",
            id="add-rule-with-unscoped-peer",
        ),
        pytest.param(
            [{"op": "remove", "path": f"/spec/ingress/0/from/1/podSelector/matchLabels/{MB}"}],
            f"/spec/ingress/0/from/1/podSelector/matchLabels/{MB} must be 'vc1'",
            id="peer-drops-managed-by",
        ),
        pytest.param(
            [
                {
                    "op": "replace",
                    "path": f"/spec/ingress/0/from/0/podSelector/matchLabels/{MB}",
                    "value": "vc2",
                }
            ],
            f"/spec/ingress/0/from/0/podSelector/matchLabels/{MB} must be 'vc1'",
            id="peer-other-vcluster",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/ingress/0/from/0/podSelector"}],
            f"/spec/ingress/0/from/0/podSelector/matchLabels/{MB} must be 'vc1'",
            id="peer-selector-removed",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/egress/0/to/0/podSelector",
                    "value": {"matchLabels": {"vcluster.loft.sh/managed-by": "vc1"}},
                }
            ],
            "/spec/egress/0/to/0 must not combine ipBlock with podSelector",
            id="ipblock-plus-pod-selector",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/egress/0/to/0/matchLabels", "value": {"a": "b"}}],
            "/spec/egress/0/to/0/matchLabels is not allowed on a host peer",
            id="unknown-field-on-ipblock-peer",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/ingress/0/from/0/serviceAccount", "value": "x"}],
            "/spec/ingress/0/from/0/serviceAccount is not allowed on a host peer",
            id="unknown-field-on-pod-selector-peer",
        ),
        # reserved keys: nothing may select by the host's own marker or release labels
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/podSelector/matchExpressions",
                    "value": [{"key": "release", "operator": "Exists"}],
                }
            ],
            "/spec/podSelector/matchExpressions/0 uses reserved key 'release'",
            id="reserved-expression-in-pod-selector",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/podSelector/matchExpressions",
                    "value": [
                        {
                            "key": "vcluster.loft.sh/managed-by",
                            "operator": "In",
                            "values": ["vc1", "vc2"],
                        }
                    ],
                }
            ],
            "uses reserved key 'vcluster.loft.sh/managed-by'",
            id="scoping-key-expression",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/0/podSelector/matchExpressions",
                    "value": [
                        {"key": "vcluster.loft.sh/controlled-by", "operator": "DoesNotExist"}
                    ],
                }
            ],
            "/spec/ingress/0/from/0/podSelector/matchExpressions/0 uses reserved key",
            id="reserved-expression-in-peer",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/podSelector/matchLabels/release", "value": "vc1"}],
            "/spec/podSelector/matchLabels/release uses a reserved key",
            id="reserved-match-label",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": f"/spec/ingress/0/from/1/podSelector/matchLabels/{CB}",
                    "value": "x",
                }
            ],
            "/spec/ingress/0/from/1/podSelector/matchLabels/vcluster.loft.sh~1controlled-by uses",
            id="reserved-match-label-in-peer",
        ),
        # policy types: dropping one un-isolates the selected pods in that direction
        pytest.param(
            [{"op": "remove", "path": "/spec/policyTypes/1"}],
            "/spec/policyTypes must keep 'Egress'",
            id="drop-egress-type",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/policyTypes", "value": ["Egress"]}],
            "/spec/policyTypes must keep 'Ingress'",
            id="replace-policy-types",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/policyTypes"}],
            "/spec/policyTypes must keep 'Ingress'",
            id="remove-policy-types",
        ),
        # shapes the check cannot read are refused, not waved through
        pytest.param(
            [{"op": "replace", "path": "/spec/ingress", "value": "everything"}],
            "/spec/ingress must be a list",
            id="rules-not-a-list",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/policyTypes/-", "value": {"type": "Ingress"}}],
            "must be Ingress or Egress",
            id="unhashable-policy-type",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata", "value": "none"}],
            "/metadata/name must stay",
            id="metadata-not-a-mapping",
        ),
    ],
)
def test_scope_breaking_patches_are_refused(entries: list[dict[str, Any]], fragment: str) -> None:
    """A patch that breaks a scoping invariant refuses the object and says which invariant."""
    with pytest.raises(patches.PatchRefused) as raised:
        objects.apply(entries)
    refused = raised.value
    assert refused.reason == "patch_out_of_scope"
    assert fragment in refused.detail, refused.detail
    assert refused.entry == len(entries) - 1
    assert "breaks the scoping invariants" in str(refused)
    assert str(refused).startswith(f"NetworkPolicy shop/web (host {objects.HOST_NAME}):")


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/1/podSelector/matchLabels/tier",
                    "value": "frontend",
                }
            ],
            id="narrow-peer-label",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/0/podSelector/matchExpressions",
                    "value": [{"key": "track", "operator": "NotIn", "values": ["canary"]}],
                }
            ],
            id="narrow-peer-expression",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/-",
                    "value": {
                        "podSelector": {
                            "matchLabels": {
                                "vcluster.loft.sh/managed-by": "vc1",
                                "vcluster.loft.sh/namespace": "shop",
                                "app": "client",
                                "tier": "frontend",
                            }
                        }
                    },
                }
            ],
            id="add-narrower-peer-of-this-vcluster",
        ),
        pytest.param(
            [
                {
                    "op": "add",
                    "path": "/spec/egress/0/to/-",
                    "value": {"ipBlock": {"cidr": "10.3.0.0/16"}},
                }
            ],
            id="add-ipblock-peer",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/ingress/0/from/1"}],
            id="remove-a-peer",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/annotations/owner", "value": "platform"}],
            id="replace-tenant-annotation",
        ),
        pytest.param(
            [{"op": "remove", "path": "/metadata/labels/app"}],
            id="remove-tenant-label",
        ),
        pytest.param(
            [
                {"op": "replace", "path": "/metadata/name", "value": "renamed"},
                {"op": "replace", "path": "/metadata/name", "value": objects.HOST_NAME},
            ],
            id="broken-then-restored",
        ),
    ],
)
def test_adding_and_narrowing_patches_are_accepted(entries: list[dict[str, Any]]) -> None:
    """Labels, annotations and narrowing stay inside the scope and produce a valid object."""
    kube_schema.assert_valid(objects.apply(entries))


@pytest.mark.parametrize(
    ("entries", "blame"),
    [
        pytest.param(
            [
                {"op": "add", "path": "/metadata/labels/team", "value": "a"},
                {"op": "remove", "path": f"/metadata/labels/{MB}"},
                {"op": "add", "path": "/metadata/labels/tier", "value": "b"},
            ],
            1,
            id="middle-entry",
        ),
        pytest.param(
            [
                {"op": "remove", "path": f"/metadata/labels/{NS}"},
                {"op": "add", "path": f"/metadata/labels/{NS}", "value": "shop"},
                {"op": "replace", "path": "/metadata/name", "value": "x"},
            ],
            2,
            id="earlier-break-was-repaired",
        ),
        pytest.param(
            [
                {"op": "remove", "path": f"/spec/podSelector/matchLabels/{MB}"},
                {"op": "add", "path": "/metadata/labels/team", "value": "a"},
            ],
            0,
            id="first-entry-stays-broken",
        ),
    ],
)
def test_the_entry_that_left_the_object_out_of_scope_is_blamed(
    entries: list[dict[str, Any]], blame: int
) -> None:
    """The refusal names the entry from which the object stayed broken until the end."""
    with pytest.raises(patches.PatchRefused) as raised:
        objects.apply(entries)
    assert raised.value.entry == blame
    assert raised.value.operation == entries[blame]
