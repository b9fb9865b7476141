"""--metrics-address accepts the forms operators write and rejects the rest with a clear error."""

from __future__ import annotations

import pytest

from syncer.runtime import serving


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        pytest.param(":8080", None, 8080, id="all-interfaces"),
        pytest.param("0.0.0.0:8080", "0.0.0.0", 8080, id="ipv4-any"),
        pytest.param("127.0.0.1:0", "127.0.0.1", 0, id="ephemeral-port"),
        pytest.param("[::]:8080", "::", 8080, id="ipv6-any"),
        pytest.param("[::1]:9090", "::1", 9090, id="ipv6-loopback"),
        pytest.param("localhost:8080", "localhost", 8080, id="host-name"),
        pytest.param(":65535", None, 65535, id="highest-port"),
    ],
)
def test_accepted_forms(text: str, host: str | None, port: int) -> None:
    """Each documented form parses to its host and port, and prints back the same way."""
    address = serving.parse_address(text)
    assert (address.host, address.port) == (host, port)
    assert str(address) == text


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("", "expected HOST:PORT", id="empty"),
        pytest.param("8080", "expected HOST:PORT", id="port-only"),
        pytest.param("localhost", "expected HOST:PORT", id="host-only"),
        pytest.param(":", "port must be a number", id="no-port"),
        pytest.param(":http", "port must be a number", id="named-port"),
        pytest.param(":-1", "port must be a number", id="negative"),
        pytest.param(":+80", "port must be a number", id="signed"),
        pytest.param(":65536", "port must be a number", id="too-high"),
        pytest.param("::8080", "brackets", id="bare-ipv6"),
        pytest.param("[::1]8080", "expected HOST:PORT", id="bracket-without-colon"),
        pytest.param("[1.2.3.4]:80", "not an IPv6 address", id="ipv4-in-brackets"),
        pytest.param("my host:80", "not a host name", id="space-in-host"),
        pytest.param("http://0.0.0.0:8080", "not a URL", id="url"),
    ],
)
def test_rejected_forms(text: str, error: str) -> None:
    """Malformed addresses raise ValueError quoting the input and saying what is wrong."""
    with pytest.raises(ValueError, match=error) as raised:
        serving.parse_address(text)
    assert repr(text) in str(raised.value)
