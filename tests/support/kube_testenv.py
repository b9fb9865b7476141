"""A real kube-apiserver with etcd (``tools/kube-testenv``) as a test process.

:func:`binary` builds (or reuses) the binary with ``tools/kube-testenv/build``; on a machine
without Go the real backend is unavailable and :func:`unavailable_reason` says how to enable it.
:class:`TestEnv` starts one server on a free port with a data directory of its own, restarts it
on the same data (objects survive), compacts its etcd (watches from older versions get 410) and
stops it with SIGTERM.
"""

from __future__ import annotations

import base64
import functools
import os
import shutil
import signal
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "kube-testenv" / "build"
ENABLE = "tools/kube-testenv/build && NETPOL_TEST_BACKEND=both .venv/bin/python -m pytest"
START_TIMEOUT = 120.0
"""Seconds to wait for /readyz; a cold start on a loaded 2-core machine takes ~10 s."""

__all__ = ["BUILD", "ENABLE", "TestEnv", "binary", "free_port", "unavailable_reason"]


class Unavailable(RuntimeError):
    """The real backend cannot run here (no Go, or the build failed)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def _build() -> tuple[Path | None, str]:
    """The binary, or why there is none. Tests never start the (long) build themselves: a
    developer runs the build script once, CI runs it before the tests."""
    if override := os.environ.get("KUBE_TESTENV"):
        return Path(override), ""
    if shutil.which("go") is None:
        return None, f"Go is not installed; install Go, then run: {ENABLE}"
    done = subprocess.run(
        [str(BUILD), "--cached"], capture_output=True, text=True, check=False, timeout=60
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return None, f"kube-testenv is not built; run: {ENABLE}"
    return Path(lines[-1]), ""


def unavailable_reason() -> str:
    """Why the real backend cannot run here, or ``""`` when :func:`binary` works."""
    return _build()[1]


def binary() -> Path:
    """The kube-testenv binary (built on first use; ``$KUBE_TESTENV`` overrides)."""
    path, reason = _build()
    if path is None:
        raise Unavailable(reason)
    return path


class TestEnv:
    """One kube-testenv process; ``url``, ``kubeconfig`` and ``token`` once started."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        workdir: Path,
        *,
        rbac: bool = False,
        tokens: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.kubeconfig = workdir / "admin.kubeconfig"
        self.rbac = rbac
        self.tokens = dict(tokens or {})
        self.extra_args = extra_args
        self.port = free_port()
        self.admin_port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = workdir / "kube-testenv.log"
        self._lock = threading.Lock()

    # --- lifecycle ---

    def start(self) -> TestEnv:
        """Start and wait until it serves (its URL printed on stdout)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            str(binary()),
            f"--port={self.port}",
            f"--admin-port={self.admin_port}",
            f"--kubeconfig-out={self.kubeconfig}",
            f"--data-dir={self.data_dir}",
        ]
        if self.rbac:
            args.append("--rbac")
        args += [f"--token={name}={token}" for name, token in self.tokens.items()]
        if self.extra_args:
            args += ["--", *self.extra_args]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        assert self._process.stdout is not None
        line = _readline(self._process.stdout, START_TIMEOUT)
        if line.strip() != self.url:
            self.stop()
            tail = self._log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"kube-testenv did not start ({line!r}); its log ends:\n{tail}")
        return self

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait, and return the exit code (``None`` if it was not running)."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def restart(self) -> None:
        """Stop and start again on the same port and data directory."""
        with self._lock:
            self.stop()
            self.start()

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # --- inspection and faults ---

    @functools.cached_property
    def admin(self) -> dict[str, Any]:
        """The admin kubeconfig as a dict."""
        return dict(yaml.safe_load(self.kubeconfig.read_text()))

    @property
    def token(self) -> str:
        return str(self.admin["users"][0]["user"]["token"])

    @property
    def ca_pem(self) -> bytes:
        cluster = self.admin["clusters"][0]["cluster"]
        return base64.b64decode(cluster["certificate-authority-data"])

    def compact(self) -> int:
        """Compact etcd at its current revision; returns that revision."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin_port}/compact", method="POST", data=b""
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(yaml.safe_load(response.read())["revision"])


def _readline(stream: Any, timeout: float) -> str:
    """One line from a pipe, or ``""`` after ``timeout`` seconds (or at its end)."""
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0].decode(errors="replace") if found else ""
