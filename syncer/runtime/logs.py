"""Logging setup: structlog events and stdlib records, one renderer, one line per event.

Neighbours: every ``syncer`` module logs through ``get_logger(__name__)``; the CLI calls
:func:`configure` once from ``--log-format`` and ``--log-level``; tests call it as often as they
like and read events with ``structlog.testing.capture_logs``.

Why two paths into one stream: the syncer's own events go straight from structlog to the stream
(filtered before any processor runs, so a debug call at info level costs almost nothing), while
libraries that use stdlib ``logging`` (aiohttp, kubernetes_asyncio) are rendered by the same
processors through a root handler, so a log shipper sees one format. Libraries are quieter by
default (warning and up): their info lines (aiohttp's access log, client request traces) are
noise next to the controller's.

Output goes to stderr: stdout belongs to commands such as ``netpol-syncer translate -o json``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Final, Literal, TextIO, get_args

import structlog
from structlog import typing as st

LogFormat = Literal["json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]

LOG_FORMATS: Final[tuple[LogFormat, ...]] = get_args(LogFormat)
LOG_LEVELS: Final[tuple[LogLevel, ...]] = get_args(LogLevel)

# The logger name of events from a logger obtained without one.
DEFAULT_LOGGER_NAME: Final = "netpol-syncer"

# Keys a reader looks for first; the rest of a JSON line follows in the order it was bound.
_LEADING_KEYS: Final = ("timestamp", "level", "logger", "event")


def parse_level(level: str) -> int:
    """The stdlib level number of a ``--log-level`` value (case-insensitive)."""
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LOG_LEVELS)}")
    return logging.getLevelNamesMapping()[level.upper()]


def configure(
    *,
    log_format: str = "json",
    level: str = "info",
    library_level: str = "warning",
    stream: TextIO | None = None,
) -> None:
    """Route all logging to ``stream`` (default: the current ``sys.stderr``) in one format.

    ``log_format`` is a ``LogFormat`` and the levels are ``LogLevel`` values (any case); they
    take ``str`` so CLI values pass straight through, and anything else raises ``ValueError``.
    ``level`` filters the syncer's events; stdlib records from libraries pass at
    ``library_level`` or ``level``, whichever is stricter. Calling it again replaces the
    previous configuration, including the root handler it installed; other handlers (pytest's)
    are left alone.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    own_level = parse_level(level)
    libraries_level = max(own_level, parse_level(library_level))
    out = stream if stream is not None else sys.stderr

    shared: list[st.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: list[st.Processor]
    if log_format == "json":
        renderer = [
            structlog.processors.format_exc_info,
            _lead_with_standard_keys,
            structlog.processors.JSONRenderer(),
        ]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=_is_tty(out))]

    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(own_level),
        logger_factory=_NamedLoggerFactory(out),
        context_class=dict,
        # Uncached, so reconfiguring (and capture_logs in tests) reaches module-level loggers.
        cache_logger_on_first_use=False,
    )

    handler = _RootHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    _remove_root_handlers(root)
    root.addHandler(handler)
    root.setLevel(libraries_level)


def reset() -> None:
    """Undo :func:`configure`: structlog's defaults, no root handler of ours (for tests)."""
    structlog.reset_defaults()
    root = logging.getLogger()
    _remove_root_handlers(root)
    root.setLevel(logging.WARNING)


def get_logger(name: str = DEFAULT_LOGGER_NAME) -> st.FilteringBoundLogger:
    """A logger whose events carry ``logger=name``; pass ``__name__``."""
    logger: st.FilteringBoundLogger = structlog.get_logger(name)
    return logger


# -- internals ------------------------------------------------------------------------------------


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's fastest line writer, plus the ``name`` that ``add_logger_name`` reads."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedLoggerFactory:
    """Makes the logger behind ``structlog.get_logger(name)``; one per name, reused."""

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._loggers: dict[str, _NamedWriteLogger] = {}

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        name = args[0] if args and isinstance(args[0], str) else DEFAULT_LOGGER_NAME
        logger = self._loggers.get(name)
        if logger is None:
            logger = self._loggers[name] = _NamedWriteLogger(self._file, name)
        return logger


class _RootHandler(logging.StreamHandler[TextIO]):
    """The root handler :func:`configure` installs; its own class so it can be found again."""


def _remove_root_handlers(root: logging.Logger) -> None:
    for handler in [h for h in root.handlers if isinstance(h, _RootHandler)]:
        root.removeHandler(handler)
        handler.close()


def _lead_with_standard_keys(
    logger: st.WrappedLogger, method_name: str, event_dict: st.EventDict
) -> st.EventDict:
    """Put timestamp, level, logger and event first, so raw JSON lines scan like text logs."""
    ordered = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or file-like without isatty
        return False
