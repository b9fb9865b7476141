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
import time
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


class RealCluster:
    """The same assertions' interface on a real kube-apiserver + etcd (``kube-testenv``), with
    the prometheus-operator kinds installed as minimal CRDs; Helm talks to it directly."""

    def __init__(self, env: Any) -> None:
        from tests.support.real import RealStore

        self.env = env
        self.kubeconfig: Path = env.kubeconfig
        self.store = RealStore(env)
        for api_version, kind in CUSTOM_KINDS:
            self._install_crd(api_version, kind)

    def _install_crd(self, api_version: str, kind: str) -> None:
        group, version = api_version.split("/")
        plural = kind.lower() + "s"
        name = f"{plural}.{group}"
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                "versions": [
                    {
                        "name": version,
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        from kubesim import errors

        try:
            self.store.request("POST", path, crd)
        except errors.ApiError as exc:
            if exc.code != 409:
                raise
        deadline = time.monotonic() + 60
        while True:  # served once Established (and discovery has it)
            got = self.store.request("GET", f"{path}/{name}")
            conditions = {
                c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])
            }
            if conditions.get("Established") == "True":
                try:
                    self.store.request("GET", f"/apis/{group}/{version}/{plural}")
                    return
                except errors.ApiError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(f"CRD {name} never became established")
            time.sleep(0.1)

    def list(self, resource: str, namespace: str | None = None) -> list[JsonObject]:
        return self.store.list(resource, namespace)

    def find(self, resource: str, namespace: str | None, name: str) -> JsonObject | None:
        return self.store.find(resource, namespace, name)
