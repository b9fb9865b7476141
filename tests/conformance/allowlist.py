"""The known differences between kubesim and kube-apiserver, read from docs/kubesim.md.

The document's section "Known differences from kube-apiserver" holds a Markdown table with
one row per difference: the sequence id, a path pattern into the recorded answers (``*``
matches any run of characters; everything else is literal, brackets included) and the
reason. The suite fails on any difference no row covers, and on a row that matched nothing
(fixed differences must leave the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "kubesim.md"
HEADING = "## Known differences from kube-apiserver"


@dataclass(frozen=True)
class Allowed:
    """One row of the table."""

    sequence: str
    path: str
    reason: str

    def covers(self, sequence: str, path: str) -> bool:
        return _glob(self.sequence).fullmatch(sequence) is not None and (
            _glob(self.path).fullmatch(path) is not None
        )


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def load(doc: Path = DOC) -> list[Allowed]:
    """The rows of the table under :data:`HEADING` (an empty table is allowed)."""
    lines = doc.read_text().splitlines()
    try:
        start = lines.index(HEADING)
    except ValueError:
        raise AssertionError(f"{doc} has no section {HEADING!r}") from None
    rows: list[Allowed] = []
    in_table = False
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            if in_table:
                break
            continue
        in_table = True
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in {"sequence", ""} or set(cells[0]) <= {"-", ":", " "}:
            continue
        if len(cells) != 3:
            raise AssertionError(f"a known-differences row needs 3 cells: {line!r}")
        rows.append(Allowed(*(cell.strip("`") for cell in cells)))
    return rows
