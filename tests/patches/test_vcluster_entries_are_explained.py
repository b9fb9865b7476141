"""vCluster's own patch entries are refused with the RFC 6902 operation that does the same."""

from __future__ import annotations

from typing import Any

import pytest

import patches
from patches import vcluster


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        pytest.param("metadata.labels.team", "/metadata/labels/team", id="label"),
        pytest.param(
            "metadata.annotations.example.com/owner",
            "/metadata/annotations/example.com~1owner",
            id="dotted-annotation-key",
        ),
        pytest.param(
            'metadata.annotations["example.com/owner"]',
            "/metadata/annotations/example.com~1owner",
            id="bracketed-key",
        ),
        pytest.param("metadata.labels['a.b']", "/metadata/labels/a.b", id="single-quoted-key"),
        pytest.param("spec.ingress[0].ports[1].port", "/spec/ingress/0/ports/1/port", id="index"),
        pytest.param("$.spec.podSelector", "/spec/podSelector", id="jsonpath-root"),
        pytest.param("spec.ingress[*].from", None, id="wildcard"),
        pytest.param("spec..x", None, id="empty-segment"),
        pytest.param("", None, id="empty"),
    ],
)
def test_dotted_paths_become_json_pointers(path: str, pointer: str | None) -> None:
    """One field becomes one pointer; a wildcard or an unreadable path becomes None."""
    assert vcluster.to_pointer(path) == pointer


@pytest.mark.parametrize(
    ("entry", "operation"),
    [
        pytest.param(
            {"path": "metadata.labels.team", "expression": '"shop"'},
            {"op": "add", "path": "/metadata/labels/team", "value": "shop"},
            id="double-quoted",
        ),
        pytest.param(
            {"path": "metadata.labels.team", "expression": " 'shop' "},
            {"op": "add", "path": "/metadata/labels/team", "value": "shop"},
            id="single-quoted",
        ),
        pytest.param(
            {"path": "metadata.annotations.note", "expression": "`fixed`"},
            {"op": "add", "path": "/metadata/annotations/note", "value": "fixed"},
            id="template-without-substitution",
        ),
        pytest.param(
            {"path": "spec.ingress[0].ports[0].port", "expression": "8443"},
            {"op": "add", "path": "/spec/ingress/0/ports/0/port", "value": 8443},
            id="number",
        ),
        pytest.param(
            {"path": "spec.example.enabled", "expression": "false"},
            {"op": "add", "path": "/spec/example/enabled", "value": False},
            id="false-is-a-boolean",
        ),
        pytest.param(
            {"path": "spec.example.enabled", "expression": "true"},
            {"op": "add", "path": "/spec/example/enabled", "value": True},
            id="true-is-a-boolean",
        ),
        pytest.param(
            {"path": "metadata.labels.team", "expression": "null"},
            {"op": "remove", "path": "/metadata/labels/team"},
            id="null-removes",
        ),
        pytest.param(
            {"path": "metadata.labels.team", "javascript": '"shop"'},
            {"op": "add", "path": "/metadata/labels/team", "value": "shop"},
            id="older-spelling",
        ),
    ],
)
def test_constant_expressions_have_an_equivalent(
    entry: dict[str, Any], operation: dict[str, Any]
) -> None:
    """An expression that always yields one value is that value, set with add (or remove)."""
    found = vcluster.equivalent(entry)
    assert found.operation == operation
    assert patches.parse([found.operation])  # the suggestion itself is valid


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        pytest.param(
            {"path": "metadata.labels.team", "expression": "value + '-x'"},
            "computes the value with JavaScript",
            id="computed",
        ),
        pytest.param(
            {"path": "metadata.labels.team", "expression": '"a\\"b"'},
            "computes the value with JavaScript",
            id="escapes-are-not-guessed",
        ),
        pytest.param(
            {"path": "metadata.labels.team", "expression": "`${value}`"},
            "computes the value with JavaScript",
            id="template-substitution",
        ),
        pytest.param(
            {"path": "spec.ingress[*].ports", "expression": '"x"'},
            "an RFC 6902 pointer names exactly one location",
            id="wildcard",
        ),
        pytest.param(
            {"path": "metadata.annotations", "reverseExpression": "value"},
            "this syncer never copies back",
            id="reverse-only",
        ),
        pytest.param(
            {"path": "spec.podSelector", "reference": {"kind": "Pod", "apiVersion": "v1"}},
            "refers to no object by name",
            id="reference",
        ),
        pytest.param(
            {"path": "spec.podSelector", "labels": {}},
            "already translates every selector",
            id="labels",
        ),
    ],
)
def test_other_entries_say_why_there_is_no_equivalent(entry: dict[str, Any], reason: str) -> None:
    """Computed values, wildcards, copy-back and reference/labels rewrites have none."""
    found = vcluster.equivalent(entry)
    assert found.operation is None
    assert reason in found.describe()
    assert found.describe().startswith("no RFC 6902 equivalent: ")


def test_the_refusal_of_an_entry_carries_its_equivalent() -> None:
    """Validation refuses the entry at its index and names the operation to write instead."""
    found = patches.problems([{"path": "metadata.labels.team", "expression": '"shop"'}])
    assert [p.location() for p in found] == ["patches[0]"]
    assert found[0].message == (
        "vCluster's own patch syntax (path + expression) is not supported, only RFC 6902"
        " operations are; RFC 6902 equivalent: {op: add, path: /metadata/labels/team, value:"
        ' "shop"} (vCluster changes the field only where it exists; add also creates it)'
    )


def test_reverse_expression_beside_an_expression_is_noted() -> None:
    """The copy-back half of an entry is called out as having no effect here."""
    found = vcluster.equivalent(
        {"path": "metadata.labels.team", "expression": '"a"', "reverseExpression": "value"}
    )
    assert found.operation == {"op": "add", "path": "/metadata/labels/team", "value": "a"}
    assert "reverseExpression has no effect here" in found.note
