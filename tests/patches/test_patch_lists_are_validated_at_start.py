"""The whole patch list is checked before anything is synced, every problem named by index."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import patches

ADD_TEAM = {"op": "add", "path": "/metadata/labels/team", "value": "payments"}


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([], id="empty"),
        pytest.param([ADD_TEAM], id="add-label"),
        pytest.param([{"op": "remove", "path": "/metadata/labels/team"}], id="remove"),
        pytest.param(
            [{"op": "replace", "path": "/spec/policyTypes", "value": ["Ingress", "Egress"]}],
            id="replace-list",
        ),
        pytest.param(
            [{"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/b"}], id="move"
        ),
        pytest.param(
            [{"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/b"}],
            id="copy",
        ),
        pytest.param([{"op": "test", "path": "/metadata/labels/app", "value": "web"}], id="test"),
        pytest.param([{"op": "test", "path": "", "value": {}}], id="test-root"),
        pytest.param(
            [{"op": "add", "path": "/metadata/annotations/example.com~1owner", "value": "a@b"}],
            id="escaped-slash",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels", "value": {"a": "1", "b": ""}}],
            id="whole-labels-map",
        ),
        pytest.param([{"op": "add", "path": "/spec/ingress/-", "value": {}}], id="append"),
        pytest.param([{"op": "move", "from": "/a", "path": "/a"}], id="move-onto-itself"),
        pytest.param([{"op": "add", "path": "/x", "value": None}], id="null-value"),
        pytest.param([{"op": "add", "path": "/x", "value": 1.5}], id="float-value"),
        pytest.param((ADD_TEAM,), id="tuple"),
    ],
)
def test_valid_lists_are_accepted(entries: Any) -> None:
    """RFC 6902 entries of every op, in list or tuple form, parse without problems."""
    assert patches.problems(entries) == []
    assert len(patches.parse(entries)) == len(entries)


@pytest.mark.parametrize(
    ("entries", "location", "fragment"),
    [
        pytest.param({"op": "add"}, "patches", "must be a list", id="mapping-not-list"),
        pytest.param("add /x", "patches", "must be a list", id="string-not-list"),
        pytest.param(["add"], "patches[0]", "must be a mapping", id="entry-string"),
        pytest.param([None], "patches[0]", "must be a mapping", id="entry-null"),
        pytest.param([{"path": "/x"}], "patches[0].op", "missing", id="no-op"),
        pytest.param([{"op": "ad", "path": "/x"}], "patches[0].op", "unknown op 'ad'", id="typo"),
        pytest.param(
            [{"op": "append", "path": "/x", "value": "a"}],
            "patches[0].op",
            "unknown op",
            id="non-rfc-append",
        ),
        pytest.param([{"op": 1, "path": "/x"}], "patches[0].op", "unknown op", id="op-number"),
        pytest.param([{"op": "remove"}], "patches[0].path", "missing", id="no-path"),
        pytest.param(
            [{"op": "remove", "path": 3}], "patches[0].path", "JSON pointer string", id="path-int"
        ),
        pytest.param(
            [{"op": "remove", "path": "metadata/labels/x"}],
            "patches[0].path",
            "must start with /",
            id="no-leading-slash",
        ),
        pytest.param(
            [{"op": "remove", "path": "metadata.labels.x"}],
            "patches[0].path",
            "not a dotted path",
            id="dotted-path",
        ),
        pytest.param(
            [{"op": "remove", "path": "/a~2b"}], "patches[0].path", "invalid escape", id="escape"
        ),
        pytest.param(
            [{"op": "remove", "path": "/a~"}], "patches[0].path", "invalid escape", id="tilde-end"
        ),
        pytest.param(
            [{"op": "add", "path": "/x"}], "patches[0].value", "missing", id="add-no-value"
        ),
        pytest.param(
            [{"op": "replace", "path": "/x"}], "patches[0].value", "missing", id="replace-no-value"
        ),
        pytest.param(
            [{"op": "test", "path": "/x"}], "patches[0].value", "missing", id="test-no-value"
        ),
        pytest.param(
            [{"op": "move", "path": "/x"}], "patches[0].from", "missing", id="move-no-from"
        ),
        pytest.param(
            [{"op": "copy", "path": "/x"}], "patches[0].from", "missing", id="copy-no-from"
        ),
        pytest.param(
            [{"op": "copy", "from": "a", "path": "/x"}],
            "patches[0].from",
            "must start with /",
            id="bad-from",
        ),
        pytest.param(
            [{"op": "move", "from": "/spec", "path": "/spec/x"}],
            "patches[0].from",
            "into its own child",
            id="move-into-child",
        ),
        pytest.param(
            [{"op": "add", "path": "/x", "value": 1, "valeu": 2}],
            "patches[0].valeu",
            "unknown field",
            id="typo-field",
        ),
        pytest.param(
            [{"op": "remove", "path": "/x", "value": 1}],
            "patches[0].value",
            "only op, path",
            id="value-on-remove",
        ),
        pytest.param(
            [{"op": "add", "path": "/x", "from": "/y", "value": 1}],
            "patches[0].from",
            "unknown field",
            id="from-on-add",
        ),
        pytest.param(
            [{"op": "add", "path": "", "value": {}}],
            "patches[0].path",
            "whole object",
            id="add-root",
        ),
        pytest.param(
            [{"op": "replace", "path": "", "value": {}}],
            "patches[0].path",
            "whole object",
            id="replace-root",
        ),
        pytest.param(
            [{"op": "remove", "path": ""}], "patches[0].path", "whole object", id="remove-root"
        ),
        pytest.param(
            [{"op": "move", "from": "/spec", "path": ""}],
            "patches[0].path",
            "whole object",
            id="move-to-root",
        ),
        pytest.param(
            [{"op": "add", "path": "/x", "value": datetime.date(2024, 1, 1)}],
            "patches[0].value",
            "quote it",
            id="yaml-date",
        ),
        pytest.param(
            [{"op": "add", "path": "/x", "value": {"a": [b"\x00"]}}],
            "patches[0].value",
            "not JSON",
            id="nested-binary",
        ),
        pytest.param(
            [{"op": "add", "path": "/x", "value": float("nan")}],
            "patches[0].value",
            "not a JSON number",
            id="nan",
        ),
        pytest.param(
            [{"op": "add", "path": "/x", "value": {1: "a"}}],
            "patches[0].value",
            "must be a string",
            id="int-key",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/cost-center", "value": 4711}],
            "patches[0].value",
            "string value",
            id="unquoted-label-number",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/team", "value": "two words"}],
            "patches[0].value",
            "not a valid label value",
            id="label-value-syntax",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/team", "value": "x" * 64}],
            "patches[0].value",
            "not a valid label value",
            id="label-value-too-long",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/Team Name", "value": "a"}],
            "patches[0].path",
            "not a valid label key",
            id="label-key-syntax",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels", "value": {"ok": "a", "bad key": "b"}}],
            "patches[0].value",
            "not a valid label key",
            id="labels-map-key",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels", "value": ["a"]}],
            "patches[0].value",
            "must be a mapping",
            id="labels-not-map",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/annotations/owner", "value": True}],
            "patches[0].value",
            "string value",
            id="annotation-bool",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/labels/team/x", "value": "a"}],
            "patches[0].path",
            "too many",
            id="path-below-label",
        ),
    ],
)
def test_invalid_entries_are_named_by_index_and_field(
    entries: Any, location: str, fragment: str
) -> None:
    """Each kind of mistake is reported at its ``patches[i].field`` location with a reason."""
    found = patches.problems(entries)
    assert [p.location() for p in found] == [location], found
    assert fragment in found[0].message
    with pytest.raises(patches.InvalidPatches) as raised:
        patches.parse(entries)
    assert raised.value.problems == tuple(found)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"path": "metadata.labels.team", "expression": '"payments"'}, id="expression"),
        pytest.param(
            {"path": "metadata.annotations", "reverseExpression": "value"}, id="reverse-expression"
        ),
        pytest.param({"path": "spec.podSelector", "reference": {"kind": "Pod"}}, id="reference"),
        pytest.param({"path": "metadata.name", "javascript": "value + 'x'"}, id="javascript"),
    ],
)
def test_vcluster_expression_entries_are_rejected_with_the_reason(entry: dict[str, Any]) -> None:
    """vCluster's own expression-style entries get a message that only RFC 6902 is supported."""
    found = patches.problems([ADD_TEAM, entry])
    assert len(found) == 1
    assert found[0].location() == "patches[1]"
    assert "only RFC 6902 operations are" in found[0].message


def test_expression_fields_next_to_an_op_are_explained() -> None:
    """An ``expression`` field on an RFC 6902 entry is an unknown field pointing at the cause."""
    found = patches.problems([{"op": "add", "path": "/x", "value": "a", "expression": "b"}])
    assert [p.location() for p in found] == ["patches[0].expression"]
    assert "only RFC 6902" in found[0].message


def test_every_problem_of_every_entry_is_reported_at_once() -> None:
    """Problems from several entries (and several fields of one entry) come back together."""
    found = patches.problems(
        [
            ADD_TEAM,
            {"op": "ad", "path": "/x"},
            {"op": "add", "path": "x", "extra": 1},
            {"op": "copy", "path": "/y"},
        ]
    )
    assert [p.location() for p in found] == [
        "patches[1].op",
        "patches[2].extra",
        "patches[2].path",
        "patches[2].value",
        "patches[3].from",
    ]


def test_problem_locations_take_the_callers_yaml_path() -> None:
    """The config layer can prefix locations with the full YAML path of the list."""
    (problem,) = patches.problems([{"op": "ad", "path": "/x"}])
    base = "sync.toHost.networkPolicies.patches"
    assert problem.location(base) == f"{base}[0].op"
    assert problem.describe(base).startswith(f"{base}[0].op: unknown op")


def test_parsed_operations_are_typed_copies_of_the_entries() -> None:
    """The parsed list holds the operations in order, detached from the caller's dicts."""
    entries: list[dict[str, Any]] = [
        {"op": "add", "path": "/metadata/labels/team", "value": "payments"},
        {"op": "copy", "from": "/metadata/labels/team", "path": "/metadata/labels/owner"},
    ]
    parsed = patches.parse(entries)
    entries[0]["value"] = "changed"
    assert parsed.operations == (
        {"op": "add", "path": "/metadata/labels/team", "value": "payments"},
        {"op": "copy", "from": "/metadata/labels/team", "path": "/metadata/labels/owner"},
    )
    assert [patches.describe(op) for op in parsed.operations] == [
        "add /metadata/labels/team",
        "copy /metadata/labels/team -> /metadata/labels/owner",
    ]


def test_the_refusal_message_lists_every_problem() -> None:
    """The exception's text is the problems one per line, so a log line shows all of them."""
    with pytest.raises(patches.InvalidPatches) as raised:
        patches.parse([{"op": "ad", "path": "/a"}, {"op": "remove"}])
    lines = str(raised.value).split("\n")
    assert lines == [str(p) for p in raised.value.problems]
    assert len(lines) >= 2
