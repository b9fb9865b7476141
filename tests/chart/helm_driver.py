"""Real Helm for the chart tests, as a child process: JSON requests in, JSON answers out.

Helm is reached through the ``helm-sdkpy`` package (Helm's Go library behind a C ABI), which
needs Python >= 3.12 while the test suite runs on 3.11. So the tests start this script with the
interpreter of a dedicated virtualenv (``.venv-helm``, prepared by :mod:`tests.chart.helm`) and
talk to it over its standard streams: one JSON object per line each way, so one process (and
one load of the 120 MB Helm library) serves a whole test session.

Requests are ``{"op": ..., ...}``; answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "<Helm's message>", "kind": "<exception class>"}``. Operations:

* ``version`` -> the helm-sdkpy version;
* ``lint`` (``chart``, ``kubeconfig``) -> Helm's lint report;
* ``install`` / ``upgrade`` (``release``, ``chart``, ``namespace``, ``kubeconfig``, ``values``,
  optional ``create_namespace``) -> the release: name, namespace, revision, status, notes and
  the rendered manifest;
* ``uninstall`` (``release``, ``namespace``, ``kubeconfig``) -> Helm's answer.

Helm's Go code may print to file descriptor 1, so the answers go to a private duplicate of it
and descriptor 1 itself is pointed at standard error. This file imports only the standard
library and helm_sdkpy; it must stay runnable by a bare interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import IO, Any

JsonObject = dict[str, Any]

_CONFIGS: dict[tuple[str, str], Any] = {}
"""One helm_sdkpy Configuration per (kubeconfig, namespace), reused across requests."""


def _configuration(helm: Any, kubeconfig: str, namespace: str) -> Any:
    key = (kubeconfig, namespace)
    if key not in _CONFIGS:
        _CONFIGS[key] = helm.Configuration(namespace=namespace, kubeconfig=kubeconfig)
    return _CONFIGS[key]


def _release(raw: JsonObject) -> JsonObject:
    """The parts of a Helm release the tests read (the chart's own files are left out)."""
    info = raw.get("info") or {}
    return {
        "name": raw.get("name"),
        "namespace": raw.get("namespace"),
        "revision": raw.get("version"),
        "status": info.get("status"),
        "notes": info.get("notes", ""),
        "manifest": raw.get("manifest", ""),
    }


def _handle(helm: Any, request: JsonObject) -> Any:
    op = request.get("op")
    if op == "version":
        return helm.__version__
    if op == "lint":
        config = _configuration(helm, request["kubeconfig"], "default")
        return asyncio.run(helm.Lint(config).run(request["chart"]))
    config = _configuration(helm, request["kubeconfig"], request["namespace"])
    if op == "install":
        raw = asyncio.run(
            helm.Install(config).run(
                request["release"],
                request["chart"],
                values=request.get("values") or None,
                create_namespace=bool(request.get("create_namespace", False)),
                wait=False,
                timeout=60,
            )
        )
        return _release(raw)
    if op == "upgrade":
        raw = asyncio.run(
            helm.Upgrade(config).run(
                request["release"],
                request["chart"],
                values=request.get("values") or None,
                wait=False,
                timeout=60,
            )
        )
        return _release(raw)
    if op == "uninstall":
        return asyncio.run(helm.Uninstall(config).run(request["release"], wait=False))
    raise ValueError(f"unknown op {op!r}")


def serve(read: IO[str], write: Callable[[str], None]) -> None:
    """Answer requests from ``read`` until it closes."""
    # Imported here so that a missing package is reported as an answer, not a crash.
    try:
        import helm_sdkpy as helm  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        write(
            json.dumps(
                {"ok": False, "error": f"cannot import helm_sdkpy: {exc}", "kind": "ImportError"}
            )
        )
        return
    for line in read:
        if not line.strip():
            continue
        try:
            answer: JsonObject = {"ok": True, "result": _handle(helm, json.loads(line))}
        except Exception as exc:  # every failure is an answer; the tests decide what it means
            answer = {"ok": False, "error": str(exc), "kind": type(exc).__name__}
        write(json.dumps(answer))


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # whatever Helm prints goes to standard error, not into the answers
    sys.stdout = sys.stderr

    def write(text: str) -> None:
        answers.write(text + "\n")
        answers.flush()

    serve(sys.stdin, write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
