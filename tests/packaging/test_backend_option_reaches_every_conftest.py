"""``--backend`` must hold for the paths named on the command line too: pytest imports their
conftests (which build backend-parametrized fixtures) before it applies the option, and a
``--backend kubesim`` run that quietly also ran the real server would be slow and mislabelled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _collected(*args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "NETPOL_TEST_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize("backend", ["kubesim", "real"])
def test_a_named_folder_runs_only_the_chosen_backend(backend: str) -> None:
    other = "real" if backend == "kubesim" else "kubesim"
    ids = _collected("--backend", backend, "tests/election")
    assert any(f"[{backend}]" in i for i in ids)
    assert not [i for i in ids if f"[{other}]" in i]


def test_both_is_the_default() -> None:
    ids = _collected("tests/election")
    assert any("[kubesim]" in i for i in ids)
    assert any("[real]" in i for i in ids)
