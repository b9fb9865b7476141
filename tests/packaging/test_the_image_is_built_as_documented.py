"""The Dockerfile's promises, checked structurally (no Docker engine is needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        assert stages, "instructions before the first FROM"
        stages[-1].append(line)
    return stages


def _instructions(stage: list[str], name: str) -> list[str]:
    return [line[len(name) + 1 :].strip() for line in stage if line.upper().startswith(name + " ")]


def test_it_is_multi_stage_with_pinned_bases() -> None:
    """Two or more stages, every base pinned to an exact version tag, never ``latest``."""
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        (base,) = _instructions(stage, "FROM")
        image = base.split()[0]
        if image in {"builder"}:
            continue
        _, _, tag = image.partition(":")
        assert tag, f"{image} has no tag"
        assert "latest" not in tag
        assert re.match(r"^\d+\.\d+\.\d+", tag), f"{image} is not pinned to a full version"


def test_the_final_stage_runs_as_a_fixed_non_root_user() -> None:
    """The last USER of the final stage is a numeric, non-zero UID (and GID)."""
    users = _instructions(_stages()[-1], "USER")
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert not gid or int(gid) != 0


def test_the_final_stage_has_no_build_tools() -> None:
    """Nothing is compiled or installed by a package manager in the final stage."""
    final = " ".join(_stages()[-1]).lower()
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "pip wheel", "make "):
        assert tool not in final, f"final stage uses {tool!r}"


def test_it_starts_the_controller_by_default() -> None:
    """ENTRYPOINT is the console script and CMD is ``run``, in exec form."""
    final = _stages()[-1]
    assert json.loads(_instructions(final, "ENTRYPOINT")[-1]) == ["netpol-syncer"]
    assert json.loads(_instructions(final, "CMD")[-1]) == ["run"]


@pytest.mark.parametrize(
    "label",
    ["title", "description", "version", "revision", "source", "licenses"],
)
def test_it_carries_oci_labels(label: str) -> None:
    """The final image is labelled with the standard OCI annotations."""
    labels = " ".join(_instructions(_stages()[-1], "LABEL"))
    assert f"org.opencontainers.image.{label}=" in labels


def test_it_works_with_a_read_only_root_filesystem() -> None:
    """No bytecode writes, HOME and TMPDIR under /tmp (the chart's emptyDir)."""
    env = " ".join(_instructions(_stages()[-1], "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env
    assert "TMPDIR=/tmp" in env


def test_the_build_context_is_an_allow_list() -> None:
    """.dockerignore excludes everything but what the wheel is built from."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    copied = {
        line.split()[1].rstrip("/") for line in _instructions(_stages()[0], "COPY") for _ in [0]
    } | {
        part.rstrip("/")
        for line in _instructions(_stages()[0], "COPY")
        for part in line.split()[:-1]
    }
    for path in copied:
        assert f"!{path}/" in rules or f"!{path}" in rules, f"{path} is copied but ignored"
