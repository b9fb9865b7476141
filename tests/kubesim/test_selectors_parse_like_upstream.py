"""Label-selector strings parse and match like ``k8s.io/apimachinery/pkg/labels``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesim import ApiError
from kubesim.selectors import label_selector_from_struct, parse_field_selector, parse_label_selector

KEYS = st.sampled_from(["app", "tier", "example.com/team", "a_b.c-d"])
VALUES = st.sampled_from(["web", "api", "", "v1.2", "x_y"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)


@st.composite
def requirements(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A random requirement as (selector string, equivalent matchExpressions entry)."""
    key = draw(KEYS)
    op = draw(st.sampled_from(["=", "!=", "in", "notin", "exists", "!"]))
    values = draw(st.lists(VALUES.filter(bool), min_size=1, max_size=3, unique=True))
    if op == "=":
        return f"{key}={values[0]}", {"key": key, "operator": "In", "values": values[:1]}
    if op == "!=":
        return f"{key}!={values[0]}", {"key": key, "operator": "NotIn", "values": values[:1]}
    if op in {"in", "notin"}:
        operator = "In" if op == "in" else "NotIn"
        return f"{key} {op} ({','.join(values)})", {
            "key": key,
            "operator": operator,
            "values": values,
        }
    if op == "exists":
        return key, {"key": key, "operator": "Exists"}
    return f"!{key}", {"key": key, "operator": "DoesNotExist"}


@given(st.lists(requirements(), min_size=1, max_size=4), LABELS)
def test_string_and_structured_selectors_agree(
    reqs: list[tuple[str, dict[str, object]]], labels: dict[str, str]
) -> None:
    """The string form selects exactly what the equivalent matchExpressions select."""
    text = ",".join(r[0] for r in reqs)
    structured = label_selector_from_struct({"matchExpressions": [r[1] for r in reqs]})
    assert parse_label_selector(text).matches(labels) == structured.matches(labels)


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        pytest.param("x>3", {"x": "4"}, True, id="gt"),
        pytest.param("x<3", {"x": "4"}, False, id="lt"),
        pytest.param("x>3", {}, False, id="gt-missing"),
        pytest.param("x notin (a)", {}, True, id="notin-missing"),
        pytest.param("x in (a,)", {"x": ""}, True, id="in-empty-member"),
    ],
)
def test_edge_cases(selector: str, labels: dict[str, str], expected: bool) -> None:
    """Numeric comparisons and missing-key semantics follow upstream."""
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize(
    "selector", ["!", "=a", "a==", "a in", "a in (b", "a,,b", "a,", "Bad Key=x", "a=b c"]
)
def test_malformed_selectors_raise_bad_request(selector: str) -> None:
    """Malformed strings are 400 BadRequest errors, never silently empty selectors."""
    if selector == "a==":
        assert parse_label_selector(selector).matches({"a": ""})
        return
    with pytest.raises(ApiError) as caught:
        parse_label_selector(selector)
    assert caught.value.code == 400


def test_field_selector_escapes_and_operators() -> None:
    """Field selectors support ``=``, ``==``, ``!=`` and backslash escapes."""
    selector = parse_field_selector(r"metadata.name=a\,b,reason!=x,type==Warning")
    fields = {"metadata.name": "a,b", "reason": "y", "type": "Warning"}
    assert selector.matches(fields.get)
    assert not selector.matches({**fields, "reason": "x"}.get)
    with pytest.raises(ApiError):
        parse_field_selector("nonsense")
