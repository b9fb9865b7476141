"""Real Helm from the 3.11 test suite: a Python >= 3.12 virtualenv and a driver process in it.

``helm-sdkpy`` (Helm's Go library with Python bindings) needs Python 3.12 or newer, the suite
runs on 3.11. :func:`ensure_venv` prepares ``.venv-helm`` at the repository root from a 3.12+
interpreter (found by :func:`find_python`) with the pinned requirements in
``helm-requirements.txt``, once; :class:`Helm` runs ``helm_driver.py`` in it and exchanges one
JSON line per request. Nothing here skips: without a usable interpreter the tests fail with
:class:`HelmSetupError`, whose message says what to install.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

JsonObject = dict[str, Any]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHART = REPO / "charts" / "netpol-syncer"
DRIVER = HERE / "helm_driver.py"
REQUIREMENTS = HERE / "helm-requirements.txt"
VENV = Path(os.environ.get("NETPOL_SYNCER_HELM_VENV", REPO / ".venv-helm"))
PYTHON_ENV = "NETPOL_SYNCER_HELM_PYTHON"
"""Set to a Python >= 3.12 interpreter to skip the search."""
MIN_VERSION = (3, 12)
REQUEST_TIMEOUT = 120.0
"""Seconds one Helm request may take before the driver is considered hung."""


class HelmSetupError(RuntimeError):
    """The Helm driver cannot be prepared or started."""


class HelmError(Exception):
    """Helm refused a request; ``kind`` is helm-sdkpy's exception class (e.g. InstallError)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


# --- finding an interpreter and preparing the virtualenv ---------------------------------------


def _version_of(python: Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = out.split()
    return int(major), int(minor)


def _candidates() -> Iterator[Path]:
    explicit = os.environ.get(PYTHON_ENV)
    if explicit:
        yield Path(explicit)
        return
    for name in ("python3.12", "python3.13", "python3.14"):
        found = shutil.which(name)
        if found:
            yield Path(found)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    versions = pyenv_root / "versions"
    if versions.is_dir():
        pattern = re.compile(r"^3\.(\d+)\.(\d+)$")
        found_versions = []
        for entry in versions.iterdir():
            match = pattern.match(entry.name)
            if match and (3, int(match.group(1))) >= MIN_VERSION:
                found_versions.append(((int(match.group(1)), int(match.group(2))), entry))
        for _, entry in sorted(found_versions):
            yield entry / "bin" / "python"


def find_python() -> Path:
    """A Python >= 3.12 interpreter: ``$NETPOL_SYNCER_HELM_PYTHON``, PATH, or pyenv's versions."""
    tried = []
    for candidate in _candidates():
        version = _version_of(candidate)
        shown = "unusable" if version is None else ".".join(map(str, version))
        tried.append(f"{candidate} ({shown})")
        if version is not None and version >= MIN_VERSION:
            return candidate
    raise HelmSetupError(
        "the chart tests need Python >= 3.12 for helm-sdkpy (real Helm), and none was found"
        f" (tried: {', '.join(tried) or 'nothing'}). Install one (e.g. `pyenv install 3.12`) or"
        f" set {PYTHON_ENV} to its interpreter."
    )


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _venv_python(root: Path) -> Path:
    return root / "bin" / "python"


def ensure_venv(root: Path = VENV) -> Path:
    """Create or refresh ``root`` with ``helm-requirements.txt``; return its interpreter.

    A marker file holds the digest of the requirements it was built from, so a changed pin
    rebuilds the environment and an unchanged one costs a file read. A lock file keeps two
    pytest processes from building it at the same time.
    """
    marker = root / ".netpol-syncer-helm"
    digest = _requirements_digest()
    root.parent.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"netpol-syncer-helm-venv-{tag}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = _venv_python(root)
        if marker.is_file() and marker.read_text().strip() == digest and python.exists():
            version = _version_of(python)
            if version is not None and version >= MIN_VERSION:
                return python
        base = find_python()
        if root.exists():
            shutil.rmtree(root)
        build = subprocess.run(
            [str(base), "-m", "venv", str(root)], capture_output=True, text=True, check=False
        )
        if build.returncode != 0:
            raise HelmSetupError(f"`{base} -m venv {root}` failed:\n{build.stderr}")
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise HelmSetupError(
                f"installing {REQUIREMENTS.name} into {root} failed:\n"
                f"{install.stdout}{install.stderr}"
            )
        marker.write_text(digest + "\n")
        return python


# --- talking to the driver ------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """An installed or upgraded release, as Helm reported it."""

    name: str
    namespace: str
    revision: int
    status: str
    notes: str
    manifest: str
    objects: list[JsonObject] = field(default_factory=list)
    """The manifest's documents, parsed."""

    @classmethod
    def from_answer(cls, answer: JsonObject) -> Release:
        manifest = answer.get("manifest") or ""
        objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
        return cls(
            name=answer["name"],
            namespace=answer["namespace"],
            revision=int(answer["revision"]),
            status=answer.get("status") or "",
            notes=answer.get("notes") or "",
            manifest=manifest,
            objects=objects,
        )

    def all(self, kind: str) -> list[JsonObject]:
        """Every rendered object of ``kind``."""
        return [o for o in self.objects if o.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> JsonObject:
        """The single rendered object of ``kind`` (and ``name``); fails when not exactly one."""
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        names = [o["metadata"]["name"] for o in self.all(kind)]
        assert len(found) == 1, f"expected one {kind} {name or ''}, rendered: {names}"
        return found[0]

    def kinds(self) -> list[str]:
        return sorted(o["kind"] for o in self.objects)


class Helm:
    """One driver process; use as a context manager. Requests are serialized."""

    def __init__(self, python: Path) -> None:
        self._python = python
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        env = dict(os.environ)
        home = Path(tempfile.mkdtemp(prefix="netpol-syncer-helm-"))
        # Keep Helm away from the user's repositories, caches and plugins.
        env.update(
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_DATA_HOME=str(home / "data"),
            HELM_DRIVER="secret",  # releases are stored as Secrets in the cluster, as by default
        )
        env.pop("KUBECONFIG", None)
        self._home = home
        self._proc = subprocess.Popen(
            # -I: neither this directory nor user site-packages on sys.path; -B: no .pyc files.
            [str(python), "-I", "-B", str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
            bufsize=1,
        )

    def __enter__(self) -> Helm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def _driver_stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def request(self, op: str, **params: Any) -> Any:
        """Send one request; return its result or raise :class:`HelmError`."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps({"op": op, **params}) + "\n")
            self._proc.stdin.flush()
        except OSError as exc:
            raise HelmSetupError(
                f"the Helm driver is gone: {exc}\n{self._driver_stderr()}"
            ) from exc
        ready, _, _ = select.select([self._proc.stdout], [], [], REQUEST_TIMEOUT)
        if not ready:
            self._proc.kill()
            raise HelmSetupError(f"Helm did not answer {op} within {REQUEST_TIMEOUT:g}s")
        line = self._proc.stdout.readline()
        if not line:
            raise HelmSetupError(f"the Helm driver exited during {op}:\n{self._driver_stderr()}")
        answer = json.loads(line)
        if not answer["ok"]:
            if answer["kind"] == "ImportError":
                raise HelmSetupError(answer["error"])
            raise HelmError(answer["kind"], answer["error"])
        return answer["result"]

    # --- the operations the tests use ---

    def version(self) -> str:
        return str(self.request("version"))

    def lint(self, kubeconfig: Path, chart: Path = CHART) -> JsonObject:
        return dict(self.request("lint", chart=str(chart), kubeconfig=str(kubeconfig)))

    def install(
        self,
        release: str,
        *,
        namespace: str,
        kubeconfig: Path,
        values: JsonObject | None = None,
        chart: Path = CHART,
        create_namespace: bool = True,
    ) -> Release:
        answer = self.request(
            "install",
            release=release,
            chart=str(chart),
            namespace=namespace,
            kubeconfig=str(kubeconfig),
            values=values or {},
            create_namespace=create_namespace,
        )
        return Release.from_answer(answer)

    def upgrade(
        self,
        release: str,
        *,
        namespace: str,
        kubeconfig: Path,
        values: JsonObject | None = None,
        chart: Path = CHART,
    ) -> Release:
        answer = self.request(
            "upgrade",
            release=release,
            chart=str(chart),
            namespace=namespace,
            kubeconfig=str(kubeconfig),
            values=values or {},
        )
        return Release.from_answer(answer)

    def uninstall(self, release: str, *, namespace: str, kubeconfig: Path) -> Any:
        return self.request(
            "uninstall", release=release, namespace=namespace, kubeconfig=str(kubeconfig)
        )


def main() -> int:
    """``python -m tests.chart.helm``: prepare .venv-helm now (CI does this before pytest)."""
    try:
        python = ensure_venv()
    except HelmSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with Helm(python) as helm:
        print(f"{python}: helm-sdkpy {helm.version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
