"""pytest plugin: a smaller, derandomized Hypothesis budget while mutants run.

The property tests ask for up to 2,000 examples each, which makes one full run of
tests/translate take minutes on two cores; mutation testing runs the covering tests once per
mutant. Capping ``max_examples`` (``NETPOL_MUTATION_MAX_EXAMPLES``) and fixing the seed keeps a
mutant's verdict a function of the mutant alone: the same mutant is killed or survives on every
run, so a CI threshold on a sample cannot flake. Outside mutation runs this plugin is not loaded.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

VARIABLE = "NETPOL_MUTATION_MAX_EXAMPLES"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Rewrite each Hypothesis test's settings to the capped, derandomized budget."""
    cap = int(os.environ.get(VARIABLE, "25"))
    for item in items:
        test = getattr(item, "obj", None)
        test = getattr(test, "__func__", test)
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if current is None:
            continue
        test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
            current,
            max_examples=min(cap, current.max_examples),
            derandomize=True,
            database=None,
            deadline=None,
        )
