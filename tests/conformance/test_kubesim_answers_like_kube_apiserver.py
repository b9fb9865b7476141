"""The same raw requests to kubesim and to a real kube-apiserver get the same answers.

Each sequence of :mod:`tests.conformance.sequences` runs on a fresh kubesim and on the
session's real server (tools/kube-testenv); the normalized answers are compared path by path.
A difference fails the test unless a row of the known-differences table in docs/kubesim.md
covers it, and a row of that sequence that covers nothing fails it too, so the table always
says exactly how kubesim differs. ``NETPOL_CONFORMANCE_DUMP=<dir>`` writes both recordings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kubesim import KubeSim
from kubesim.server import DEFAULT_NAMESPACES
from tests.conformance import allowlist, runner
from tests.conformance.client import Target
from tests.conformance.normalize import flatten
from tests.conformance.sequences import BY_ID, NAMESPACE, SEQUENCES, Sequence
from tests.support import backends

NAMESPACES = [*DEFAULT_NAMESPACES, NAMESPACE]
MISSING = "<absent>"

pytestmark = pytest.mark.real


def differences(kubesim: list[Any], real: list[Any]) -> dict[str, tuple[Any, Any]]:
    """``path -> (kubesim value, real value)`` for every leaf that differs."""
    left = flatten({str(i): answer for i, answer in enumerate(kubesim)})
    right = flatten({str(i): answer for i, answer in enumerate(real)})
    return {
        path: (left.get(path, MISSING), right.get(path, MISSING))
        for path in sorted(left.keys() | right.keys())
        if left.get(path, MISSING) != right.get(path, MISSING)
    }


async def _record(sequence: Sequence) -> tuple[list[Any], list[Any]]:
    if backends.KUBESIM not in backends.selected() or backends.REAL not in backends.selected():
        pytest.skip("a differential test: run with --backend both")
    async with KubeSim(namespaces=NAMESPACES, bookmark_interval=1.0) as sim:
        simulated = await runner.run(Target(sim.url), sequence)
    async with backends.server(backends.REAL, "conformance", namespaces=NAMESPACES) as real:
        env = real.env
        recorded = await runner.run(Target(env.url, env.token, env.ca_pem), sequence)
    if dump := os.environ.get("NETPOL_CONFORMANCE_DUMP"):
        _dump(Path(dump), sequence.id, {"kubesim": simulated, "real": recorded})
    return simulated, recorded


def _dump(folder: Path, name: str, both: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(both, indent=1))


def test_the_known_differences_table_names_real_sequences() -> None:
    """Every row of the table in docs/kubesim.md names a sequence that exists."""
    unknown = [
        row for row in allowlist.load() if row.sequence not in BY_ID and "*" not in row.sequence
    ]
    assert not unknown, f"rows naming no sequence: {unknown}"


@pytest.mark.parametrize("sequence", [pytest.param(s, id=s.id) for s in SEQUENCES])
async def test_kubesim_answers_the_sequence_like_kube_apiserver(sequence: Sequence) -> None:
    """Only differences listed in docs/kubesim.md remain, and every listed one still occurs."""
    simulated, recorded = await _record(sequence)
    rows = [
        row
        for row in allowlist.load()
        if row.covers(sequence.id, "*") or row.sequence == sequence.id
    ]
    found = differences(simulated, recorded)
    unlisted = {
        path: values
        for path, values in found.items()
        if not any(row.covers(sequence.id, path) for row in rows)
    }
    stale = [
        row
        for row in rows
        if row.sequence == sequence.id and not any(row.covers(sequence.id, p) for p in found)
    ]
    report = "\n".join(
        f"  {path}: kubesim={json.dumps(k)[:200]} real={json.dumps(r)[:200]}"
        for path, (k, r) in unlisted.items()
    )
    assert not unlisted, f"differences not in docs/kubesim.md ({len(unlisted)}):\n{report}"
    assert not stale, f"rows in docs/kubesim.md that no longer occur: {stale}"
