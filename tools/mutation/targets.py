"""Which fast test folders exercise which source modules.

mutmut then narrows each mutant to the tests that actually called its function, so an entry
here only has to be wide enough, not exact. Keep to fast tests: unit and property tests, the
fake clock, kubesim in-process (the runner passes ``--backend kubesim``). When a module moves,
update its pattern here; the first matching pattern wins, so specific entries come first.
"""

from __future__ import annotations

from fnmatch import fnmatch

SCOPE = ("translate", "patches", "guardrails", "syncer")
"""Packages whose modules are mutated."""

TESTS_BY_MODULE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("translate/*", ("tests/translate", "tests/reconcile")),
    ("patches/*", ("tests/patches",)),
    ("guardrails/*", ("tests/guardrails",)),
    ("syncer/runtime/clock.py", ("tests/syncer/queueing",)),
    ("syncer/runtime/ratelimiting.py", ("tests/syncer/queueing",)),
    ("syncer/pipeline/queueing.py", ("tests/syncer/queueing",)),
    ("syncer/runtime/supervising.py", ("tests/syncer/test_crashed_tasks_restart_then_give_up.py",)),
    ("syncer/runtime/electing.py", ("tests/election",)),
    ("syncer/runtime/leases.py", ("tests/election",)),
    ("syncer/runtime/metrics/*", ("tests/syncer/observability",)),
    ("syncer/runtime/logs.py", ("tests/syncer/observability",)),
    ("syncer/runtime/serving.py", ("tests/syncer/observability",)),
    ("syncer/runtime/*", ("tests/syncer", "tests/integration")),
    ("syncer/pipeline/watching.py", ("tests/syncer/informer", "tests/integration")),
    ("syncer/pipeline/working.py", ("tests/syncer/controller",)),
    ("syncer/pipeline/controller.py", ("tests/syncer/controller", "tests/integration")),
    ("syncer/pipeline/caching.py", ("tests/reconcile", "tests/integration")),
    ("syncer/pipeline/*", ("tests/syncer/controller", "tests/integration")),
    ("syncer/configuration/*", ("tests/config", "tests/cli")),
    ("syncer/commands/offline.py", ("tests/cli",)),
    ("syncer/commands/*", ("tests/cli", "tests/config")),
    ("syncer/*", ("tests/syncer",)),
)
"""(module glob, test paths) pairs, most specific first."""


def tests_for(module: str) -> tuple[str, ...]:
    """The test paths that exercise ``module`` (a path such as ``syncer/runtime/clock.py``)."""
    for pattern, tests in TESTS_BY_MODULE:
        if fnmatch(module, pattern):
            return tests
    return ()
