"""Session fixtures: real Helm (a driver process on Python >= 3.12) and a kubesim to install into.

Rendering a chart with Helm's library needs an API server (install is the only rendering entry
point helm-sdkpy offers), so every render is a real ``helm install`` into kubesim, each in a
namespace of its own; ``render`` caches by values, so tests that look at the same values share
one install.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.chart import helm as helm_module
from tests.chart.cluster import ClusterThread
from tests.chart.helm import Helm, Release

JsonObject = dict[str, Any]


class Render(Protocol):
    def __call__(self, values: JsonObject | None = None, *, release: str = "shop") -> Release: ...


@pytest.fixture(scope="session")
def helm() -> Iterator[Helm]:
    """The Helm driver; builds .venv-helm on first use (needs Python >= 3.12, never skipped)."""
    python = helm_module.ensure_venv()
    with Helm(python) as driver:
        driver.version()  # fails here, with the driver's message, if helm-sdkpy is unusable
        yield driver


@pytest.fixture(scope="session")
def kubesim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterThread]:
    """A kubesim on its own thread, with the prometheus-operator kinds registered."""
    sim = ClusterThread(tmp_path_factory.mktemp("kubesim") / "kubeconfig.yaml")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def cluster(kubesim_cluster: ClusterThread) -> ClusterThread:
    """Where renders install (a test module may override it, e.g. per backend)."""
    return kubesim_cluster


@pytest.fixture(scope="session")
def kubeconfig(cluster: ClusterThread) -> Path:
    return cluster.kubeconfig


@pytest.fixture(scope="session")
def render(helm: Helm, kubeconfig: Path) -> Render:
    """``render(values)``: the chart installed with ``values`` into a fresh namespace."""
    cache: dict[str, Release] = {}
    counter = itertools.count(1)

    def _render(values: JsonObject | None = None, *, release: str = "shop") -> Release:
        key = json.dumps([release, values or {}], sort_keys=True)
        if key not in cache:
            namespace = f"render-{next(counter)}"
            cache[key] = helm.install(
                release, namespace=namespace, kubeconfig=kubeconfig, values=values
            )
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def fresh_namespace() -> Callable[[str], str]:
    """``fresh_namespace("install")`` -> a namespace name no other test uses."""
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}-{next(counter)}"
