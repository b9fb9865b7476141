"""One table (``errors.REFUSALS``, plus ``errors.FAILURES`` for the write itself) says how each
failure is reported: error class, ``errors_total{reason}`` label and Warning event reason. The
metric's label set is derived from it and the operator docs list exactly its rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

import guardrails
from syncer.runtime import errors, metrics

ROOT = Path(__file__).resolve().parents[3]
ROW = re.compile(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)` \| .+ \|$")


def documented() -> dict[str, tuple[str, str]]:
    """failure -> (metric label, event reason), from docs/deploy.md's table."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = text.split("**Why a policy is not synced.**", 1)[1].split("\n\n**", 1)[0]
    rows = [ROW.match(line) for line in section.splitlines() if line.startswith("| `")]
    assert all(rows), section
    return {m.group(1): (m.group(2), m.group(3)) for m in rows if m}


def in_code() -> dict[str, tuple[str, str]]:
    """The same mapping from the tables: refusals by code, write failures by label."""
    out = {code: (row.label, row.event) for code, row in errors.REFUSALS.items()}
    for row in (*errors.FAILURES, errors.UNEXPECTED):
        out[row.label] = (row.label, row.event)
    return out


@pytest.mark.parametrize("code", guardrails.KINDS)
def test_every_refusal_code_has_an_error_a_label_and_an_event(code: guardrails.Kind) -> None:
    """Each code has a row; the error it raises is permanent, counts under the row's label and
    names the row's event reason, and carries the refusal's message."""
    row = errors.REFUSALS[code]
    assert issubclass(row.error, errors.PermanentError)
    assert row.error.reason == row.label, "the class and the table must agree"
    assert row.label in metrics.ERROR_REASONS
    assert row.event in get_args(errors.EventReason)
    error = errors.refused(guardrails.Refusal(code, "NetworkPolicy a/b: why"))
    assert isinstance(error, row.error)
    assert (error.reason, error.event, str(error)) == (
        row.label,
        row.event,
        "NetworkPolicy a/b: why",
    )
    assert errors.event_reason(error.reason) == row.event


def test_the_table_has_no_row_without_a_code() -> None:
    """Exactly the closed set of codes, no stale rows."""
    assert set(errors.REFUSALS) == set(guardrails.KINDS)


@pytest.mark.parametrize("row", [*errors.FAILURES, errors.UNEXPECTED], ids=lambda r: r.label)
def test_write_failures_report_what_their_class_says(row: errors.Reporting) -> None:
    """A failure raised by the write path counts under its class's label and event."""
    assert row.error.reason == row.label or row.error is errors.PermanentError
    if row.error is not errors.PermanentError:
        assert row.error.event == row.event
    assert errors.event_reason(row.label) == row.event


def test_the_metric_label_set_is_the_tables_labels() -> None:
    """``errors_total{reason}`` accepts exactly the labels of the tables, nothing else."""
    labels = {label for label, _ in in_code().values()} | set(errors.COUNTED_ONLY)
    assert set(metrics.ERROR_REASONS) == labels
    assert len(metrics.ERROR_REASONS) == len(labels)


def test_the_docs_list_exactly_the_tables_rows() -> None:
    """docs/deploy.md's table has one row per code and write failure, with the same label and
    event reason as the code."""
    assert documented() == in_code()


def test_event_reasons_are_the_ones_the_readme_promises() -> None:
    """Warning events use only the reasons SPEC §6 and the README name."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    events = {event for _, event in in_code().values()}
    assert events == set(get_args(errors.EventReason)) == {"SyncError", "HostNameCollision"}
    for event in events:
        assert f"`{event}`" in readme
