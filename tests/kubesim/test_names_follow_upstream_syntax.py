"""Name and label syntax checks agree with upstream's regular expressions."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kubesim import naming

ALPHABET = st.text(alphabet="aZ09-_./A", max_size=12)

QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@given(ALPHABET)
def test_character_scans_match_the_upstream_regexes(value: str) -> None:
    """The linear scans used for speed accept exactly what upstream's regexes accept."""
    assert (not naming.is_dns1123_label(value)) == bool(DNS_LABEL.match(value))
    assert (not naming.is_dns1123_subdomain(value)) == bool(DNS_SUBDOMAIN.match(value))
    assert (not naming.is_dns1035_label(value)) == bool(DNS1035.match(value))
    assert (not naming.is_valid_label_value(value)) == bool(LABEL_VALUE.match(value))
    if "/" not in value:
        assert (not naming.is_qualified_name(value)) == bool(QUALIFIED.match(value))


def test_messages_are_upstream_wording() -> None:
    """Messages quote the regex and examples exactly like apimachinery."""
    [message] = naming.is_dns1123_label("Bad")
    assert message == (
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    )
    assert naming.is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert naming.is_valid_port_name("80") == ["must contain at least one letter (a-z)"]
    assert naming.is_valid_port_name("a--b") == ["must not contain consecutive hyphens"]


def test_long_hostile_values_are_checked_quickly() -> None:
    """A megabyte label value is rejected without regex backtracking blowing up."""
    assert naming.is_valid_label_value("a-" * 500_000) != []
    assert naming.is_dns1123_subdomain("a-" * 500_000 + ".") != []
