"""Syntax rules for names, label keys and values, and port names.

These are the string checks of ``k8s.io/apimachinery/pkg/util/validation``; each returns the
list of messages the upstream function returns (empty when the value is fine), so callers can
wrap every message in a :class:`~kubesim.errors.FieldError` exactly as upstream validators do.
The message texts matter: clients print them and tests compare against them.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
PORT_NAME_MAX = 15

# The regexes are quoted in messages exactly as upstream prints them; matching itself is done
# with linear character-class scans, which give the same answers without the quadratic
# backtracking a regex engine can hit on long hostile input (bodies may be megabytes).
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"

_LOWER = frozenset(string.ascii_lowercase)
_LOWER_ALNUM = _LOWER | frozenset(string.digits)
_ALNUM = _LOWER_ALNUM | frozenset(string.ascii_uppercase)
_QUALIFIED_INNER = _ALNUM | frozenset("-_.")
_DNS_INNER = _LOWER_ALNUM | frozenset("-")


def _shaped(
    value: str, edge: frozenset[str], inner: frozenset[str], first: frozenset[str] | None = None
) -> bool:
    """Non-empty; first char in ``first`` (or ``edge``), last in ``edge``, all in ``inner``."""
    return (
        bool(value)
        and value[0] in (first or edge)
        and value[-1] in edge
        and all(c in inner for c in value)
    )


def _qualified_ok(value: str) -> bool:
    return _shaped(value, _ALNUM, _QUALIFIED_INNER)


def _dns1123_label_ok(value: str) -> bool:
    return _shaped(value, _LOWER_ALNUM, _DNS_INNER)


def _dns1123_subdomain_ok(value: str) -> bool:
    return bool(value) and all(_dns1123_label_ok(label) for label in value.split("."))


def _dns1035_label_ok(value: str) -> bool:
    return _shaped(value, _LOWER_ALNUM, _DNS_INNER, first=_LOWER)


_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """Append the examples and the regex to a message, with upstream's exact punctuation."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    text = message + " (e.g. " + " or ".join(f"'{e}', " for e in examples)
    return text + f"regex used for validation is '{fmt}')"


def max_len_error(limit: int) -> str:
    """The message for a value longer than ``limit`` characters."""
    return f"must be no more than {limit} characters"


@functools.lru_cache(maxsize=16384)
def _qualified_name_errors(value: str) -> tuple[str, ...]:
    return tuple(_is_qualified_name(value))


def is_qualified_name(value: str) -> list[str]:
    """Label keys, annotation keys and finalizers: optional DNS-subdomain prefix plus a name.

    Memoized: the same few label keys are checked on almost every write.
    """
    return list(_qualified_name_errors(value))


def _is_qualified_name(value: str) -> list[str]:
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _qualified_ok(name):
        errs.append(
            "name part "
            + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """Label values: empty, or up to 63 characters of the qualified-name alphabet (memoized)."""
    return list(_label_value_errors(value))


@functools.lru_cache(maxsize=16384)
def _label_value_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if value and not _qualified_ok(value):
        errs.append(
            regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return tuple(errs)


def is_dns1123_label(value: str) -> list[str]:
    """RFC 1123 label (namespace names): lowercase alphanumerics and '-', at most 63."""
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _dns1123_label_ok(value):
        errs.append(
            regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "my-name",
                "123-abc",
            )
        )
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """RFC 1123 subdomain (most object names): dot-separated labels, at most 253."""
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _dns1123_subdomain_ok(value):
        errs.append(
            regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """RFC 1035 label (service names): like a 1123 label but starting with a letter."""
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _dns1035_label_ok(value):
        errs.append(
            regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


def is_valid_port_num(port: int) -> list[str]:
    """Port numbers are 1-65535."""
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME: at most 15 lowercase alphanumerics and single inner hyphens, one letter."""
    errs: list[str] = []
    if len(port) > PORT_NAME_MAX:
        errs.append(max_len_error(PORT_NAME_MAX))
    if not port or not all(c in _DNS_INNER for c in port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any(c in _LOWER for c in port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_path_segment_name(name: str) -> list[str]:
    """Names must be usable as one URL path segment."""
    if name in {".", ".."}:
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _mask_trailing_dash(name: str) -> str:
    """A generateName prefix may end with '-', since random characters follow it."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


NameValidator = Callable[[str, bool], list[str]]
"""Validates an object name; the flag says the value is a ``generateName`` prefix."""


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """The default object-name rule (NetworkPolicy, ConfigMap, Secret, Lease, ...)."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """The namespace-name rule."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    """The service-name rule."""
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool) -> list[str]:
    """The loosest rule (RBAC objects, events): anything usable in a URL path."""
    if prefix:
        return [m for m in is_valid_path_segment_name(name) if "may not be" not in m]
    return is_valid_path_segment_name(name)
