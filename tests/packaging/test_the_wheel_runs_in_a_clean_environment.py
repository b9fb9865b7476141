"""The wheel, built the way the Dockerfile builds it, installs into a clean virtualenv and
runs: ``netpol-syncer version`` and the whole ``netpol-syncer demo``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chart.helm import HelmSetupError, find_python

ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile's builder stage copies into /src before `pip wheel --no-deps -w /dist .`.
SOURCES = [
    "pyproject.toml",
    "README.md",
    "translate",
    "patches",
    "guardrails",
    "syncer",
    "kubesim",
    "examples",
]


def _image_python() -> str:
    """Python 3.12 like the image's base when there is one; else the running interpreter."""
    try:
        return str(find_python())
    except HelmSetupError:
        return sys.executable


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    # As in the Dockerfile's builder: every dependency must come as a wheel (no compiler).
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_ONLY_BINARY"] = ":all:"
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only the wheel (and its dependencies) installed."""
    work = tmp_path_factory.mktemp("image")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, src / name)
    python = _image_python()
    _run(python, "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", ".", cwd=src)
    (wheel,) = (work / "dist").glob("netpol_syncer-*.whl")
    venv = work / "venv"
    _run(python, "-m", "venv", venv, cwd=work)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=work)
    return venv


def test_version_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The console script is installed and reports the package version."""
    out = _run(installed / "bin" / "netpol-syncer", "version", cwd=tmp_path)
    assert out.startswith("netpol-syncer 0.1.0")


def test_the_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The demo finds its shipped examples and kubesim inside the wheel and converges."""
    out = _run(installed / "bin" / "netpol-syncer", "demo", cwd=tmp_path, timeout=120)
    assert "synced 5/5 example policies" in out
    assert "host copy deleted: True" in out


def test_the_wheel_leaves_tests_and_benchmarks_out(installed: Path) -> None:
    """Only the product packages are installed (kubesim included, for the demo)."""
    (site,) = (installed / "lib").glob("python3.*/site-packages")
    for package in ("translate", "patches", "guardrails", "syncer", "kubesim"):
        assert (site / package / "__init__.py").is_file()
    for absent in ("tests", "bench"):
        assert not (site / absent).exists()
