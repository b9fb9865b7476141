"""A kubesim server on a thread of its own, for tests that talk to it from blocking code.

Helm runs in another process and blocks the test while it installs, so the API server cannot
share the test's event loop: :class:`ClusterThread` runs one :class:`kubesim.KubeSim` on a
private loop in a daemon thread, writes its kubeconfig to a file (the way Helm is told where
the cluster is), and lets tests read the stored objects through :meth:`ClusterThread.call`,
which runs a function on that loop's thread (kubesim's ``store`` must be used from there).

The chart creates two prometheus-operator kinds that kubesim does not serve by default; they
are registered through kubesim's public ``register`` call, as CRDs would be installed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from kubesim import DirectStore, KubeSim

T = TypeVar("T")
JsonObject = dict[str, Any]

CUSTOM_KINDS = (
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
)
"""Kinds the chart creates beyond kubesim's built-ins (prometheus-operator CRDs)."""


class ClusterThread:
    """One running kubesim; :meth:`start` then :meth:`stop`."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kubesim", daemon=True)
        self._sim: KubeSim | None = None

    def start(self) -> None:
        self._thread.start()
        self._sim = self._run(self._start())
        self._sim.write_kubeconfig(self.kubeconfig)

    async def _start(self) -> KubeSim:
        sim = KubeSim()
        for api_version, kind in CUSTOM_KINDS:
            sim.register(api_version, kind)
        await sim.start()
        return sim

    def stop(self) -> None:
        if self._sim is not None:
            self._run(self._sim.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def call(self, fn: Callable[[DirectStore], T]) -> T:
        """Run ``fn(store)`` on the server's thread and return its result."""
        assert self._sim is not None, "start() first"
        sim = self._sim
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(fn(sim.store))
            except BaseException as exc:  # handed to the caller's thread
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return done.result(timeout=30)

    # --- conveniences for assertions ---

    def list(self, resource: str, namespace: str | None = None) -> list[JsonObject]:
        return self.call(lambda store: store.list(resource, namespace))

    def find(self, resource: str, namespace: str | None, name: str) -> JsonObject | None:
        return self.call(lambda store: store.find(resource, namespace, name))
