"""Logging renders the syncer's events and library records alike, one filtered line each."""

from __future__ import annotations

import datetime
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from structlog import testing

from syncer.runtime import logs


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave structlog and the root logger as the test found them."""
    yield
    logs.reset()


def configured(**settings: Any) -> io.StringIO:
    """Configure logging into a fresh buffer and return it."""
    stream = io.StringIO()
    logs.configure(stream=stream, **settings)
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line of the buffer, each parsed as one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_is_the_default_and_has_the_standard_keys() -> None:
    """Each event is one JSON line with an ISO UTC timestamp, level, logger and event."""
    stream = configured()
    logs.get_logger("syncer.pipeline.reconciling").info("host policy written", action="update")
    (line,) = json_lines(stream)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert line["level"] == "info"
    assert line["logger"] == "syncer.pipeline.reconciling"
    assert line["event"] == "host policy written"
    assert line["action"] == "update"
    stamp = datetime.datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset() == datetime.timedelta(0)


def test_an_exception_stays_on_one_line() -> None:
    """A traceback is rendered into the JSON line's exception field, not onto extra lines."""
    stream = configured()
    try:
        raise RuntimeError("host said no")
    except RuntimeError:
        logs.get_logger("syncer.test").exception("write failed")
    (line,) = json_lines(stream)
    assert line["level"] == "error"
    assert "RuntimeError: host said no" in line["exception"]


def test_console_format_is_human_readable() -> None:
    """The console format prints level, event, logger and key=value pairs, not JSON."""
    stream = configured(log_format="console")
    logs.get_logger("syncer.test").warning("slow host", seconds=3)
    (text,) = stream.getvalue().splitlines()
    assert "warning" in text
    assert "slow host" in text
    assert "seconds=3" in text
    assert "syncer.test" in text
    assert "\x1b[" not in text, "no colour codes when the stream is not a terminal"
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        pytest.param("debug", ["debug", "info", "warning", "error"], id="debug"),
        pytest.param("info", ["info", "warning", "error"], id="info"),
        pytest.param("WARNING", ["warning", "error"], id="warning-any-case"),
        pytest.param("error", ["error"], id="error"),
    ],
)
def test_level_filters_the_syncers_events(level: str, shown: list[str]) -> None:
    """Events below --log-level are dropped."""
    stream = configured(level=level)
    log = logs.get_logger("syncer.test")
    log.debug("debug")
    log.info("info")
    log.warning("warning")
    log.error("error")
    assert [line["event"] for line in json_lines(stream)] == shown


def test_library_records_use_the_same_renderer_at_warning_and_up() -> None:
    """stdlib records from libraries are JSON lines too, but their info lines are dropped."""
    stream = configured(level="debug")
    logging.getLogger("aiohttp.access").info("GET /metrics 200")
    logging.getLogger("kubernetes_asyncio.client.rest").warning("retrying %s", "LIST")
    (line,) = json_lines(stream)
    assert line["logger"] == "kubernetes_asyncio.client.rest"
    assert line["level"] == "warning"
    assert line["event"] == "retrying LIST"
    assert "timestamp" in line


def test_library_level_never_undercuts_the_syncers_level() -> None:
    """With --log-level=error, library warnings are dropped as well."""
    stream = configured(level="error")
    logging.getLogger("aiohttp.server").warning("client went away")
    assert stream.getvalue() == ""


def test_configuring_twice_does_not_duplicate_lines() -> None:
    """A second configure replaces the first: each event is written once, to the new stream."""
    first = configured()
    second = configured()
    logs.get_logger("syncer.test").info("once")
    logging.getLogger("aiohttp.server").warning("once too")
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once", "once too"]


def test_loggers_created_before_configure_follow_it() -> None:
    """A module-level logger obtained before configure uses the configuration current at call."""
    early = logs.get_logger("syncer.early")
    stream = configured(level="warning")
    early.info("dropped")
    early.warning("kept")
    assert [line["event"] for line in json_lines(stream)] == ["kept"]


def test_capture_logs_respects_the_configured_level() -> None:
    """Tests can capture events while the level filter still applies."""
    configured(level="info")
    log = logs.get_logger("syncer.test")
    with testing.capture_logs() as captured:
        log.debug("hidden")
        log.info("seen")
    assert [entry["event"] for entry in captured] == ["seen"]


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"level": "verbose"}, id="unknown-level"),
        pytest.param({"library_level": "trace"}, id="unknown-library-level"),
        pytest.param({"log_format": "logfmt"}, id="unknown-format"),
    ],
)
def test_unknown_settings_are_rejected(settings: dict[str, Any]) -> None:
    """A level or format outside the documented choices raises ValueError naming them."""
    with pytest.raises(ValueError, match="is not one of"):
        configured(**settings)
