"""Label and field selectors: the string syntax of ``?labelSelector=`` and ``?fieldSelector=``.

Label selectors accept the full upstream grammar (``k8s.io/apimachinery/pkg/labels``):
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, ``k>1``, ``k<1``,
comma-separated and ANDed. Keys and values are checked with the label syntax rules, and a bad
selector is a ``400 BadRequest`` like upstream. Negative requirements (``!=``, ``notin``) match
objects that lack the key, which is easy to get wrong and exactly what host-side informers with
``managed-by=VC`` selectors rely on.

Field selectors (``k8s.io/apimachinery/pkg/fields``) support ``=``, ``==`` and ``!=`` with
backslash escapes; which field names are allowed is decided per resource by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kubesim import errors, naming

LabelOperator = Literal["in", "notin", "exists", "!", "gt", "lt"]


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ANDed clause of a label selector."""

    key: str
    operator: LabelOperator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Upstream semantics: negative operators also match when the key is absent."""
        op = self.operator
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op == "in":
            return self.key in labels and labels[self.key] in self.values
        if op == "notin":
            return self.key not in labels or labels[self.key] not in self.values
        if self.key not in labels:
            return False
        try:
            have = int(labels[self.key])
        except ValueError:
            return False
        bound = int(next(iter(self.values)))
        return have > bound if op == "gt" else have < bound


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector places no constraint."""
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels is selected."""
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)


EVERYTHING = LabelSelector()

_TOKEN_RE = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s,=!()<>]+)")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # pragma: no cover - the pattern accepts every non-space character
            raise errors.bad_request(f"unable to parse requirement: bad character at {pos}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def _check_key(key: str) -> None:
    msgs = naming.is_qualified_name(key)
    if msgs:
        raise errors.bad_request(
            f'unable to parse requirement: key: Invalid value: "{key}": {"; ".join(msgs)}'
        )


def _check_value(value: str) -> None:
    msgs = naming.is_valid_label_value(value)
    if msgs:
        raise errors.bad_request(
            f'unable to parse requirement: values[0]: Invalid value: "{value}": ' + "; ".join(msgs)
        )


_OPERATORS = {"=": "in", "==": "in", "!=": "notin", ">": "gt", "<": "lt"}
_SPECIAL = {"==", "!=", "=", "!", "(", ")", ",", ">", "<"}


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse the string form of a label selector, raising ``400 BadRequest`` when malformed."""
    if not text or not text.strip():
        return EVERYTHING
    tokens = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def fail(why: str) -> errors.ApiError:
        return errors.bad_request(f"unable to parse requirement: {why}: {text!r}")

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            if i + 1 >= len(tokens) or tokens[i + 1] in _SPECIAL:
                raise fail("found '!' without a key")
            key = tokens[i + 1]
            _check_key(key)
            reqs.append(Requirement(key, "!"))
            i += 2
        elif tok in _SPECIAL:
            raise fail(f"found '{tok}', expected: !, identifier, or 'end of string'")
        else:
            key = tok
            _check_key(key)
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "exists"))
                i += 1
            elif nxt in _OPERATORS:
                if i + 2 >= len(tokens) or tokens[i + 2] in _SPECIAL:
                    value = ""
                    i += 2
                else:
                    value = tokens[i + 2]
                    i += 3
                op = _OPERATORS[nxt]
                if op in {"gt", "lt"}:
                    try:
                        int(value)
                    except ValueError:
                        raise fail(
                            "for 'Gt', 'Lt' operators, the value must be an integer"
                        ) from None
                else:
                    _check_value(value)
                reqs.append(Requirement(key, op, frozenset({value})))  # type: ignore[arg-type]
            elif nxt in {"in", "notin"}:
                if i + 2 >= len(tokens) or tokens[i + 2] != "(":
                    raise fail(
                        f"found '{tokens[i + 2] if i + 2 < len(tokens) else ''}', expected: '('"
                    )
                j = i + 3
                values: list[str] = []
                expect_value = True
                while j < len(tokens) and tokens[j] != ")":
                    t = tokens[j]
                    if t == ",":
                        if expect_value:
                            values.append("")
                        expect_value = True
                    elif t in _SPECIAL:
                        raise fail(f"found '{t}', expected: ',', ')' or identifier")
                    else:
                        values.append(t)
                        expect_value = False
                    j += 1
                if j >= len(tokens):
                    raise fail("found 'end of string', expected: ')'")
                if expect_value and values:
                    values.append("")
                if not values:
                    raise fail("for 'in', 'notin' operators, values set can't be empty")
                for v in values:
                    _check_value(v)
                reqs.append(Requirement(key, nxt, frozenset(values)))  # type: ignore[arg-type]
                i = j + 1
            else:
                raise fail(f"found '{nxt}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(tokens):
            if tokens[i] != ",":
                raise fail(f"found '{tokens[i]}', expected: ','")
            i += 1
            if i >= len(tokens):
                raise fail("found 'end of string', expected: identifier")
    return LabelSelector(tuple(reqs))


def label_selector_from_struct(selector: Mapping[str, Any] | None) -> LabelSelector:
    """Build a selector from a ``metav1.LabelSelector`` object (matchLabels/matchExpressions).

    Used by test helpers that want to ask "which objects does this policy select"; the API
    itself only parses the string form.
    """
    if not selector:
        return EVERYTHING
    reqs = [
        Requirement(k, "in", frozenset({v})) for k, v in (selector.get("matchLabels") or {}).items()
    ]
    ops: dict[str, LabelOperator] = {
        "In": "in",
        "NotIn": "notin",
        "Exists": "exists",
        "DoesNotExist": "!",
    }
    for expr in selector.get("matchExpressions") or []:
        reqs.append(
            Requirement(expr["key"], ops[expr["operator"]], frozenset(expr.get("values") or ()))
        )
    return LabelSelector(tuple(reqs))


FieldGetter = Callable[[dict[str, Any]], str | None]
"""Reads one selectable field from an object (``None`` counts as the empty string)."""


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A parsed field selector: ANDed ``(field, equal?, value)`` terms."""

    terms: tuple[tuple[str, bool, str], ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector places no constraint."""
        return not self.terms

    @property
    def fields(self) -> set[str]:
        """The field names used, so the caller can reject unsupported ones."""
        return {f for f, _, _ in self.terms}

    def exact_value(self, name: str) -> str | None:
        """The value required by an ``name=value`` term, if there is one (for fast paths)."""
        for f, equal, value in self.terms:
            if f == name and equal:
                return value
        return None

    def matches(self, field: Callable[[str], str | None]) -> bool:
        """Whether an object whose field values ``field(name)`` returns satisfies every term."""
        for f, equal, value in self.terms:
            have = field(f) or ""
            if (have == value) != equal:
                return False
        return True


NOTHING = FieldSelector()


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            cur.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if escaped:
        cur.append("\\")
    parts.append("".join(cur))
    return parts


def _unescape(value: str) -> str:
    out: list[str] = []
    it = iter(value)
    for ch in it:
        if ch == "\\":
            nxt = next(it, "")
            if nxt not in {"\\", ",", "="}:
                raise errors.bad_request(
                    f"invalid field selector: invalid escape sequence: \\{nxt}"
                )
            out.append(nxt)
        else:
            out.append(ch)
    return "".join(out)


def _split_term(term: str) -> tuple[str, bool, str] | None:
    for op, equal in (("!=", False), ("==", True), ("=", True)):
        idx = _find_unescaped(term, op)
        if idx >= 0:
            return term[:idx].strip(), equal, _unescape(term[idx + len(op) :])
    return None


def _find_unescaped(term: str, op: str) -> int:
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        if term.startswith(op, i):
            return i
        i += 1
    return -1


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse the string form of a field selector, raising ``400 BadRequest`` when malformed."""
    if not text or not text.strip():
        return NOTHING
    terms: list[tuple[str, bool, str]] = []
    for part in _split_unescaped(text, ","):
        if not part.strip():
            continue
        term = _split_term(part)
        if term is None:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        terms.append(term)
    return FieldSelector(tuple(terms))


def check_fields(selector: FieldSelector, supported: Iterable[str], *, core: bool = True) -> None:
    """Reject field names the resource does not index, worded as upstream: core kinds have
    field label conversion functions, the others only the generic selectable-field check."""
    allowed = set(supported)
    for name in sorted(selector.fields - allowed):
        if core:
            raise errors.bad_request(f"field label not supported: {name}")
        only = ", ".join(f'"{field}"' for field in sorted(allowed))
        raise errors.bad_request(f'"{name}" is not a known field selector: only {only}')
