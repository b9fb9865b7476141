"""The mutation runner's module -> test map covers every module in scope with real test paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.mutation import targets

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    str(p.relative_to(ROOT)) for package in targets.SCOPE for p in (ROOT / package).rglob("*.py")
)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_is_mapped_to_existing_tests(module: str) -> None:
    """A module that moved or was added still has test paths, and each of them exists."""
    tests = targets.tests_for(module)
    assert tests, f"{module} has no entry in tools/mutation/targets.py"
    for path in tests:
        assert (ROOT / path).exists(), f"{module} maps to {path}, which does not exist"


def test_specific_entries_win_over_package_globs() -> None:
    """The queue's own fake-clock tests are chosen for it, not the whole integration folder."""
    assert targets.tests_for("syncer/pipeline/queueing.py") == ("tests/syncer/queueing",)
    assert "tests/integration" in targets.tests_for("syncer/pipeline/reconciling.py")
