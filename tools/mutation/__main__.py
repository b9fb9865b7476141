"""``python -m tools.mutation``: run mutants of chosen modules against their fast tests.

    python -m tools.mutation                                # every module, every mutant
    python -m tools.mutation --module translate --module patches
    python -m tools.mutation --module syncer --sample 200 --seed 7
    python -m tools.mutation --sample 20 --seed "$(date -u +%Y%m%d)" --fail-under 80

Mutants live in ``mutants/`` (a copy of the tree that mutmut rewrites; reused between runs, safe
to delete). mutmut's progress goes to stderr; stdout gets one JSON summary: killed, survived,
timeout and untested per package, the score, and every survivor with file:line and the change.

Longer than most modules on purpose: the command's options, the run over mutmut and the
report are one small program read top to bottom.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import fnmatch
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.mutation import budget, targets

ROOT = Path(__file__).resolve().parents[2]
VERDICTS = {
    "killed": "killed",
    "caught by type check": "killed",
    "survived": "survived",
    "timeout": "timeout",
    "no tests": "untested",
    "not checked": "not run",
}
"""mutmut's verdicts as summarised. A timeout counts as detected but is listed apart; a mutant
no mapped test reaches is ``untested`` and counts as surviving."""


class _Names(list[str]):
    """A mutant-name list with set membership: mutmut filters every mutant key against it."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self._set = set(names)

    def __contains__(self, item: object) -> bool:
        return item in self._set


def _modules(patterns: list[str]) -> list[str]:
    """Source files (``syncer/runtime/clock.py``) matched by ``--module`` (path, prefix or glob)."""
    found = sorted(
        str(p.relative_to(ROOT))
        for package in targets.SCOPE
        for p in (ROOT / package).rglob("*.py")
    )
    if not patterns:
        return found
    chosen = []
    for module in found:
        for pattern in patterns:
            pattern = pattern.replace(".", "/") if not pattern.endswith(".py") else pattern
            if module == pattern or module.startswith(pattern.rstrip("/") + "/"):
                chosen.append(module)
                break
            if fnmatch.fnmatch(module, pattern):
                chosen.append(module)
                break
    return chosen


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """mutmut and the forked pytest runs print progress: keep stdout for the JSON summary."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _configure(modules: list[str], args: argparse.Namespace) -> list[str]:
    """Point mutmut at our tree: mutate ``modules``, test with their folders on kubesim."""
    from mutmut import configuration

    tests = sorted({t for m in modules for t in targets.tests_for(m)})
    if not tests:
        sys.exit(f"no test folder is mapped for {modules} (tools/mutation/targets.py)")
    os.environ[budget.VARIABLE] = str(args.max_examples)
    os.environ.setdefault("NETPOL_TEST_BACKEND", "kubesim")
    base = configuration._load_config()
    configuration._config = dataclasses.replace(
        base,
        source_paths=[Path(p) for p in targets.SCOPE],
        resolved_mutated_source_paths=[ROOT / "mutants" / p for p in targets.SCOPE],
        only_mutate=[],  # every module is generated (and cached); the run picks by module
        do_not_mutate=[],
        also_copy=[*base.also_copy, Path("kubesim"), Path("examples"), Path("tools")],
        pytest_add_cli_args=[
            "--backend=kubesim",
            "-p",
            "tools.mutation.budget",
            f"--timeout={args.test_timeout}",
            "-W",
            "ignore::pytest.PytestUnraisableExceptionWarning",
        ],
        pytest_add_cli_args_test_selection=tests,
        timeout_multiplier=args.timeout_multiplier,
        timeout_constant=args.timeout_constant,
        track_dependencies=False,
        use_git_change_detection=False,
    )
    return tests


def _all_mutants(max_children: int) -> dict[str, str]:
    """Generate the mutants (cached in mutants/) and return mutant name -> source path."""
    from mutmut import __main__ as mm
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.utils import file_utils
    from mutmut.utils.file_utils import walk_mutatable_files

    Path("mutants").mkdir(exist_ok=True)
    _drop_broken_copies()
    file_utils.copy_src_dir()
    file_utils.copy_also_copy_files()
    mm.create_mutants(max_children)
    found: dict[str, str] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        found.update(dict.fromkeys(data.exit_code_by_key, str(path)))
    return found


def _drop_broken_copies() -> None:
    """Delete copies an interrupted generation left empty or cut short, so they are rebuilt.

    mutmut keeps a generated file while it is newer than its source, so a run stopped while
    writing one would otherwise leave that module broken for every later run.
    """
    for package in targets.SCOPE:
        for source in (ROOT / package).rglob("*.py"):
            copy = ROOT / "mutants" / source.relative_to(ROOT)
            if not copy.exists():
                continue
            try:
                ast.parse(copy.read_text())
                broken = copy.stat().st_size == 0 and source.stat().st_size > 0
            except SyntaxError:
                broken = True
            if broken:
                copy.unlink()
                copy.with_name(copy.name + ".meta").unlink(missing_ok=True)


def _skip_clean_rerun_after_fresh_stats() -> None:
    """Do not run the selected tests a second time right after mutmut's stats run.

    Collecting stats runs exactly those tests unmutated and stops on any failure, which is what
    the clean run checks; on two busy cores the repeat costs minutes. With cached stats the
    clean run still happens.
    """
    from mutmut import __main__ as mm

    fresh = False
    collect = mm.run_stats_collection
    make_runner = mm.get_mutant_runner  # type: ignore[attr-defined]

    def run_stats_collection(*args: Any, **kwargs: Any) -> None:
        nonlocal fresh
        collect(*args, **kwargs)
        fresh = True

    def get_mutant_runner(*args: Any, **kwargs: Any) -> Any:
        runner = make_runner(*args, **kwargs)
        clean = runner.run_clean_tests
        setattr(runner, "run_clean_tests", lambda tests: 0 if fresh else clean(tests))  # noqa: B010
        return runner

    mm.run_stats_collection = run_stats_collection
    setattr(mm, "get_mutant_runner", get_mutant_runner)  # noqa: B010


def _function_start(path: str, name: str, cls: str | None) -> int:
    """First line (decorators included) of ``cls.name`` or ``name`` in the original file."""
    tree = ast.parse((ROOT / path).read_text())
    scope: list[ast.stmt] = tree.body
    if cls is not None:
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == cls:
                scope = node.body
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return 0


def _describe(name: str, path: str) -> dict[str, Any]:
    """A survivor as file:line and the changed line(s), from mutmut's function-level diff."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    diff = get_diff_for_mutant(name, path=path).splitlines()
    removed = [
        line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")
    ]
    function, cls = orig_function_and_class_names_from_key(name)
    offset = 0
    for line in diff:
        if line.startswith("@@"):
            offset = int(line.split()[1].split(",")[0].lstrip("-")) - 1
            break
    start = _function_start(path, function, cls)
    orig = [
        line
        for line in diff
        if line.startswith(" ") or (line.startswith("-") and not line.startswith("---"))
    ]
    first_change = next((i for i, line in enumerate(orig) if line.startswith("-")), 0)
    line_no = start + offset + first_change if start else 0
    return {
        "mutant": name,
        "where": f"{path}:{line_no}",
        "function": f"{cls}.{function}" if cls else function,
        "from": " / ".join(removed),
        "to": " / ".join(added),
    }


def _summary(chosen: dict[str, str], started: float, tests: list[str]) -> dict[str, Any]:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    verdicts: dict[str, str] = {}
    for path in sorted(set(chosen.values())):
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            if name in chosen:
                verdicts[name] = status_by_exit_code[code]
    by_package: dict[str, Counter[str]] = {}
    for name, verdict in verdicts.items():
        package = chosen[name].split("/")[0]
        key = VERDICTS.get(verdict, "other")
        if key != "not run":
            by_package.setdefault(package, Counter())[key] += 1

    def score(counts: Counter[str]) -> float | None:
        total = sum(counts.values())
        return round(100 * (counts["killed"] + counts["timeout"]) / total, 1) if total else None

    def interval(counts: Counter[str]) -> list[float] | None:
        """Wilson 95% interval of the score: what a sample says about all mutants."""
        n = sum(counts.values())
        if not n:
            return None
        p, z = (counts["killed"] + counts["timeout"]) / n, 1.96
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return [round(100 * (centre - half), 1), round(100 * (centre + half), 1)]

    overall: Counter[str] = sum(by_package.values(), Counter())
    survivors = [
        {**_describe(name, chosen[name]), "verdict": verdict}
        for name, verdict in sorted(verdicts.items())
        if verdict in {"survived", "no tests", "suspicious"}
    ]
    return {
        "mutants": sum(overall.values()),
        "not_run": sum(1 for v in verdicts.values() if v == "not checked"),
        "seconds": round(time.monotonic() - started, 1),
        "tests": tests,
        "packages": {
            package: {**dict(counts), "score": score(counts), "score_95": interval(counts)}
            for package, counts in sorted(by_package.items())
        },
        "killed": overall["killed"],
        "survived": overall["survived"],
        "timeout": overall["timeout"],
        "untested": overall["untested"],
        "score": score(overall),
        "score_95": interval(overall),
        "survivors": survivors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutation", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--module", action="append", default=[], help="path, package prefix or glob; repeatable"
    )
    parser.add_argument(
        "--sample", type=int, default=0, help="run a random sample of N mutants (0: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument(
        "--max-examples", type=int, default=25, help="Hypothesis examples per property test"
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--test-timeout", type=int, default=300, help="pytest-timeout seconds per test"
    )
    parser.add_argument("--timeout-multiplier", type=float, default=5.0)
    parser.add_argument("--timeout-constant", type=float, default=5.0)
    parser.add_argument(
        "--fail-under", type=float, default=None, help="exit 1 if the score is lower"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the chosen mutant names and stop"
    )
    parser.add_argument(
        "--report", action="store_true", help="summarise verdicts already recorded; run nothing"
    )
    args = parser.parse_args(argv)

    os.chdir(ROOT)
    started = time.monotonic()
    modules = _modules(args.module)
    if not modules:
        sys.exit(f"--module {args.module} matches no module under {', '.join(targets.SCOPE)}")
    tests = _configure(modules, args)
    with _stdout_to_stderr():
        everything = _all_mutants(args.max_children)
    wanted = set(modules)
    names = sorted(name for name, path in everything.items() if path in wanted)
    population = len(names)
    if args.sample and args.sample < len(names):
        names = sorted(random.Random(args.seed).sample(names, args.sample))
    chosen = {name: everything[name] for name in names}
    if args.list:
        print("\n".join(names))
        return 0
    if names and not args.report:
        from mutmut import __main__ as mm

        _skip_clean_rerun_after_fresh_stats()
        with _stdout_to_stderr():
            try:
                mm._run(_Names(names), args.max_children)
            except SystemExit as stop:
                if stop.code:
                    raise
    summary = _summary(chosen, started, tests)
    summary["population"] = population
    summary["seed"] = args.seed if args.sample else None
    print(json.dumps(summary, indent=2))
    if args.fail_under is not None and (summary["score"] or 0) < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
