"""The backend seam: the same tests on kubesim and on a real kube-apiserver + etcd.

``NETPOL_TEST_BACKEND`` (or ``pytest --backend``) picks ``kubesim``, ``real`` or ``both``
(the default). Tests take a ``backend`` parameter through :func:`params` and open servers with
:func:`server`, which yields a :class:`kubesim.KubeSim` or a :class:`~tests.support.real.RealSim`
with the same test-facing calls.

Real servers are expensive to start (seconds, hundreds of MB), so they are shared by all tests
of the session, one per role (``virtual``, ``host``, ``rbac``...), started on first use and
stopped at exit; :meth:`RealSim.reset` removes what the previous test left. Without Go the real
parameters are skipped with the command that enables them; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kubesim import KubeSim
from kubesim.server import DEFAULT_NAMESPACES
from tests.support import kube_testenv
from tests.support.real import RealSim

KUBESIM = "kubesim"
REAL = "real"
VARIABLE = "NETPOL_TEST_BACKEND"

__all__ = ["KUBESIM", "REAL", "VARIABLE", "params", "real_env", "select", "selected", "server"]


def selected() -> tuple[str, ...]:
    """The backends this run covers."""
    value = os.environ.get(VARIABLE, "both").strip().lower() or "both"
    if value == "both":
        return (KUBESIM, REAL)
    if value not in (KUBESIM, REAL):
        raise pytest.UsageError(f"{VARIABLE} must be kubesim, real or both, not {value!r}")
    return (value,)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1"}


def require_real() -> None:
    """Skip (fail in CI) when the real backend cannot run on this machine."""
    reason = kube_testenv.unavailable_reason()
    if not reason:
        return
    if _in_ci():
        pytest.fail(f"the real backend must run in CI: {reason}")
    pytest.skip(f"real backend not run: {reason}")


def params(*, real_reason: str | None = None) -> list[Any]:
    """``pytest.param`` per backend (ids ``kubesim``/``real``).

    Both are always generated: fixture parameters are built when a conftest or test module is
    imported, and pytest imports the conftests of the paths on its command line before
    ``--backend`` is applied. :func:`select` drops the unselected ones at collection time.
    ``real_reason`` keeps a test on kubesim only: the real parameter is skipped with it (a
    kubesim-only feature, named in the reason).
    """
    out = []
    for name in (KUBESIM, REAL):
        marks = [pytest.mark.real] if name == REAL else []
        if name == REAL and real_reason:
            marks.append(pytest.mark.skip(reason=f"kubesim only: {real_reason}"))
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the cases of backends this run does not cover (a collection hook calls it)."""
    chosen = set(selected())
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        ids = set(callspec.id.split("-")) if callspec is not None else set()
        (dropped if ids & {KUBESIM, REAL} - chosen else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


KUBESIM_ONLY: dict[str, str] = {}
"""Tests (``file.py::test_name``) whose ``[real]`` case is skipped, with the reason: they need
a kubesim-only feature, or fail on the real server for a reason listed for follow-up."""


def mark_kubesim_only(items: list[pytest.Item]) -> None:
    """Skip the ``[real]`` cases named in :data:`KUBESIM_ONLY` (a collection hook calls it)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or REAL not in callspec.id.split("-"):
            continue
        key = f"{item.path.name}::{item.originalname}"  # type: ignore[attr-defined]
        if key in KUBESIM_ONLY:
            item.add_marker(pytest.mark.skip(reason=f"kubesim only: {KUBESIM_ONLY[key]}"))


# --- shared real servers ----------------------------------------------------------------------

_lock = threading.Lock()
_envs: dict[str, kube_testenv.TestEnv] = {}
_root: Path | None = None


def real_env(role: str, *, rbac: bool = False, tokens: dict[str, str] | None = None) -> Any:
    """The session's real server for ``role`` (started on first use, stopped at exit)."""
    global _root
    require_real()
    with _lock:
        env = _envs.get(role)
        if env is not None and (env.rbac != rbac or env.tokens != (tokens or {})):
            env.stop()
            env = None
        if env is None or not env.running:
            if _root is None:
                _root = Path(tempfile.mkdtemp(prefix="netpol-real-"))
                atexit.register(_stop_all)
            workdir = _root / f"{role}-{len(_envs)}"
            env = kube_testenv.TestEnv(workdir, rbac=rbac, tokens=tokens).start()
            _envs[role] = env
        return env


def _stop_all() -> None:
    for env in _envs.values():
        env.stop()
    if _root is not None:
        shutil.rmtree(_root, ignore_errors=True)


@contextlib.asynccontextmanager
async def server(
    backend: str,
    role: str,
    *,
    namespaces: Sequence[str] = DEFAULT_NAMESPACES,
    rbac: dict[str, Any] | None = None,
    **kubesim_options: Any,
) -> AsyncIterator[Any]:
    """A started server of ``backend`` holding ``namespaces``; ``role`` names the shared real
    server. ``rbac`` is kubesim's ``{token: role}``; on the real server each token becomes user
    ``token`` with a RoleBinding to that Role (whose namespace the Role names)."""
    if backend == KUBESIM:
        options = dict(kubesim_options)
        if rbac is not None:
            options["rbac"] = rbac
        async with KubeSim(namespaces=list(namespaces), **options) as sim:
            yield sim
        return
    tokens = {token: token for token in rbac or {}}
    env = real_env(role, rbac=rbac is not None, tokens=tokens)
    async with RealSim(env) as sim:
        sim.reset(list(namespaces))
        for token, role_object in (rbac or {}).items():
            sim.bind(token, role_object)
        yield sim
