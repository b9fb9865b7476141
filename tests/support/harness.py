"""The real syncer between two API servers, for the integration and reliability suites.

A test gets a :class:`Clusters` (a "virtual" and a "host" server, both started, the host with
the vCluster's namespace), once per backend (:mod:`tests.support.backends`): two kubesims, or
two real kube-apiservers behind fault proxies (:class:`tests.support.real.RealSim`, which
offers the same ``store``/``counters``/``faults``/``outage``/``restart``), and runs exactly
what ``netpol-syncer run`` runs against them with ``async with clusters.run(...) as run:``.
Everything a test asserts on is observable from the outside, as the project guide asks
(outcomes, not call sequences):

- the host objects (:func:`host_copies`) against the expected translation of the current
  virtual state (:func:`expected_copies`, :func:`wait_converged`);
- Events in the virtual cluster (:func:`events_for`);
- the syncer's ``/metrics`` parsed with ``prometheus_client`` (:meth:`Run.metrics`) and its
  probes (:meth:`Run.probe`);
- kubesim's request counters (:func:`writes`) and a timestamped request log
  (:class:`RequestLog`);
- a :class:`DeleteWatchdog` that flags any host delete made while the copied virtual object
  still exists, and :func:`translate_cli`, what ``netpol-syncer translate`` prints.

Faults come from kubesim itself or from the fault proxy in front of a real server
(``sim.faults``, ``sim.outage()``, ``sim.restart()``); an :class:`Outage` can end in the middle
of a block.

Comparisons of spec go through a scratch kubesim's defaulting (a dry-run create), never through
``translate.diff``: the code under test must not be the judge of its own output.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

import patches
import translate
from kubesim import KubeSim, testing
from kubesim.server import DEFAULT_NAMESPACES
from kubesim.testing import network_policy
from syncer.commands import running
from syncer.configuration import config, settings
from syncer.runtime import logs
from translate import markers

Json = dict[str, Any]
T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "examples" / "vcluster.yaml"
EXAMPLE_POLICIES = REPO / "examples" / "policies"
NETPOL_SYNCER = str(Path(sys.executable).with_name("netpol-syncer"))

VCLUSTER = "vc"
HOST_NAMESPACE = "vcluster-vc"
TARGET = translate.Target(vcluster=VCLUSTER, host_namespace=HOST_NAMESPACE)
NETPOLS = "networkpolicies"
WRITE_VERBS = ("create", "update", "patch", "delete")

CONVERGE_TIMEOUT = 20.0
"""Seconds a test waits for convergence; generous because CI machines stall, never a margin."""

__all__ = [
    "CONVERGE_TIMEOUT",
    "EXAMPLE_CONFIG",
    "EXAMPLE_POLICIES",
    "HOST_NAMESPACE",
    "NETPOLS",
    "NETPOL_SYNCER",
    "TARGET",
    "VCLUSTER",
    "Clusters",
    "DeleteWatchdog",
    "Outage",
    "RequestLog",
    "Run",
    "Samples",
    "as_stored",
    "clusters_fixture",
    "create",
    "differences",
    "edit",
    "ensure_namespace",
    "events_for",
    "expected_copies",
    "host_copies",
    "network_policy",
    "owned_view",
    "quiet_logs_fixture",
    "translate_cli",
    "virtual_policies",
    "wait_converged",
    "wait_for",
    "writes",
]


# --- polling ----------------------------------------------------------------------------------


@overload
async def wait_for(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    message: str | Callable[[], str] | None = ...,
) -> T: ...


@overload
async def wait_for(
    condition: Callable[[], T],
    *,
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    message: str | Callable[[], str] | None = ...,
) -> T: ...


async def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - a polling deadline, not a cancellation scope
    interval: float = 0.01,
    message: str | Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` (sync or async) until it is truthy and return its value; fail with
    ``message`` after ``timeout`` seconds (:func:`kubesim.testing.wait_for`, typed for both
    kinds of condition)."""
    return await testing.wait_for(
        cast(Callable[[], object], condition),
        timeout=timeout,
        interval=interval,
        message=message,
    )


# --- clusters and a running syncer -------------------------------------------------------------


@dataclass
class Clusters:
    """The two API servers a syncer connects to, and where their kubeconfigs are."""

    virtual: KubeSim
    host: KubeSim
    workdir: Path

    def settings(self, **overrides: Any) -> settings.Settings:
        """``run`` settings for these clusters: fast, unthrottled, metrics on a free port.

        ``config_path`` (e.g. :data:`EXAMPLE_CONFIG`) also loads that file's patches; any other
        keyword overrides the :class:`~syncer.configuration.settings.Settings`
        field of the same name.
        """
        values: dict[str, Any] = {
            "name": VCLUSTER,
            "host_namespace": HOST_NAMESPACE,
            "virtual_kubeconfig": str(
                self.virtual.write_kubeconfig(self.workdir / "virtual.kubeconfig")
            ),
            "host_kubeconfig": str(self.host.write_kubeconfig(self.workdir / "host.kubeconfig")),
            "metrics_address": "127.0.0.1:0",
            "workers": 4,
            "resync_period": 0.0,
            "virtual_qps": 1000.0,
            "virtual_burst": 1000,
            "host_qps": 1000.0,
            "host_burst": 1000,
        }
        values.update(overrides)
        if "config_path" in overrides and "sync" not in overrides:
            values["sync"] = config.load(overrides["config_path"])
        return settings.Settings(**values)

    def run(self, **overrides: Any) -> Run:
        """A syncer for these clusters (``async with``); overrides as in :meth:`settings`."""
        return Run(self.settings(**overrides))

    def patch_list(self, config_path: Path | None) -> patches.PatchList:
        return config.load(config_path).patches if config_path else patches.PatchList()


def clusters_fixture(**host_options: Any) -> Any:
    """A pytest fixture ``clusters`` yielding started :class:`Clusters` (bookmarks every 0.2 s),
    once per backend (:mod:`tests.support.backends`): two kubesims, or two real servers behind
    fault proxies. ``host_options`` go to the host kubesim."""
    import pytest_asyncio

    from tests.support import backends

    @pytest_asyncio.fixture(name="clusters", params=backends.params())
    async def _clusters(request: Any, tmp_path: Path) -> AsyncIterator[Clusters]:
        backend = request.param
        async with (
            backends.server(backend, "virtual", bookmark_interval=0.2) as virtual,
            backends.server(
                backend,
                "host",
                bookmark_interval=0.2,
                namespaces=[*DEFAULT_NAMESPACES, HOST_NAMESPACE, "elsewhere"],
                **host_options,
            ) as host,
        ):
            yield Clusters(virtual=virtual, host=host, workdir=tmp_path)

    return _clusters


def quiet_logs_fixture() -> Any:
    """An autouse fixture: the syncer logs warnings and errors as console lines (shown by
    pytest for a failing test) and the logging configuration is undone afterwards."""
    import pytest

    @pytest.fixture(autouse=True, name="quiet_logs")
    def _quiet_logs() -> Iterator[None]:
        logs.configure(log_format="console", level="warning")
        yield
        logs.reset()

    return _quiet_logs


class Run:
    """One ``netpol-syncer run`` in this event loop; ``async with`` starts and stops it."""

    def __init__(self, options: settings.Settings) -> None:
        self.options = options
        self.syncer = running.Syncer(options)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[int] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.exit_code: int | None = None

    async def __aenter__(self) -> Run:
        self._task = asyncio.create_task(self.syncer.run(self._stop), name="syncer")
        started = asyncio.create_task(self.syncer.started.wait())
        await asyncio.wait({self._task, started}, timeout=10, return_when="FIRST_COMPLETED")
        if not started.done():
            started.cancel()
            if self._task.done():
                self._task.result()  # raises what made the syncer fail
            raise AssertionError("the syncer did not start serving within 10 s")
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self, timeout: float = 15.0) -> int:  # noqa: ASYNC109 - a bound, not a scope
        """Ask the syncer to stop (what SIGTERM does) and return its exit code."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.exit_code is None and self._task is not None:
            self._stop.set()
            self.exit_code = await asyncio.wait_for(self._task, timeout)
        assert self.exit_code is not None
        return self.exit_code

    @property
    def url(self) -> str:
        assert self.syncer.server is not None
        return self.syncer.server.url

    async def probe(self, path: str) -> int:
        """The HTTP status of ``GET path`` (``/healthz``, ``/readyz``)."""
        assert self._session is not None
        async with self._session.get(self.url + path) as response:
            await response.read()
            return response.status

    async def wait_ready(self, timeout: float = CONVERGE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Until ``/readyz`` answers 200 (both informers listed)."""

        async def ready() -> bool:
            return await self.probe("/readyz") == 200

        await wait_for(ready, timeout=timeout, message="/readyz never became 200")

    async def metrics(self) -> Samples:
        """Every sample ``/metrics`` exposes now; after :meth:`stop`, the final values (the
        same exposition, rendered in process because the server is gone)."""
        if self._session is None:
            body, _ = self.syncer.metrics.render()
            return Samples.parse(body.decode())
        async with self._session.get(self.url + "/metrics") as response:
            assert response.status == 200
            return Samples.parse(await response.text())


@dataclass
class Samples:
    """Parsed ``/metrics``: ``samples.value("netpol_syncer_errors_total", reason="X")``."""

    values: dict[tuple[str, frozenset[tuple[str, str]]], float] = field(default_factory=dict)
    families: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str) -> Samples:
        """Samples of a Prometheus text exposition."""
        samples = cls()
        for family in text_string_to_metric_families(text):
            samples.families.add(family.name)
            for sample in family.samples:
                samples.values[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    def value(self, name: str, **labels: str) -> float:
        """Sum of the samples called ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, have), v in self.values.items() if n == name and wanted <= set(have))

    def names(self) -> set[str]:
        return {name for name, _ in self.values}


# --- virtual objects ---------------------------------------------------------------------------


def ensure_namespace(sim: KubeSim, name: str) -> None:
    if sim.store.find("namespaces", None, name) is None:
        sim.store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def create(sim: KubeSim, obj: Json) -> Json:
    """Create ``obj`` (its namespace first, if missing) through kubesim's direct store."""
    ensure_namespace(sim, obj["metadata"].get("namespace", "default"))
    return sim.store.create(obj)


def edit(sim: KubeSim, namespace: str, name: str, change: Callable[[Json], None]) -> Json:
    """Read, change in place, update (unconditionally on the read version)."""
    obj = sim.store.get(NETPOLS, namespace, name)
    change(obj)
    return sim.store.update(obj)


def virtual_policies(virtual: KubeSim) -> list[Json]:
    return virtual.store.list(NETPOLS)


# --- host objects and the expected state -------------------------------------------------------


def host_copies(host: KubeSim) -> dict[str, Json]:
    """This syncer's copies in the host namespace, by name: our marker, and ownership
    annotations that map back to the object's own name (foreign look-alikes are left out)."""
    found = host.store.list(
        NETPOLS, HOST_NAMESPACE, label_selector=f"{markers.MANAGED_BY}={VCLUSTER}"
    )
    return {obj["metadata"]["name"]: obj for obj in found if translate.is_owned(obj, TARGET)}


_scratch = KubeSim(namespaces=[HOST_NAMESPACE])


def as_stored(obj: Mapping[str, Any]) -> Json:
    """``obj`` as an API server stores it (defaulted), via a dry-run create in a scratch kubesim."""
    return _scratch.store.create(copy.deepcopy(dict(obj)), dry_run=True)


def owned_view(obj: Mapping[str, Any]) -> Json:
    """What the syncer owns of a host copy: identity, labels, annotations and spec."""
    meta = obj.get("metadata") or {}
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "labels": meta.get("labels") or {},
        "annotations": meta.get("annotations") or {},
        "spec": obj.get("spec") or {},
    }


def expected_copies(
    virtual: KubeSim, patch_list: patches.PatchList | None = None
) -> dict[str, Json]:
    """The host copies the current virtual state should have, as owned views by host name.

    A virtual object whose patch fails has no expected copy (tests that need one say so).
    """
    desire = running.desire_for(TARGET, patch_list or patches.PatchList())
    expected: dict[str, Json] = {}
    for obj in virtual_policies(virtual):
        wanted = as_stored(desire(obj))  # type: ignore[arg-type]
        expected[wanted["metadata"]["name"]] = owned_view(wanted)
    return expected


def differences(
    expected: Mapping[str, Json], host: KubeSim, *, tolerated: Collection[str] = ()
) -> list[str]:
    """Human-readable differences between expected owned views and the host copies.

    A host label or annotation whose key is in ``tolerated`` may be present where the expected
    copy lacks it: one another tool added, or a label the tenant removed (the syncer cannot
    tell those apart, so it keeps both; see ``translate.diff``). Where the expected copy has
    the key, the values must match.
    """
    actual = {}
    for name, obj in host_copies(host).items():
        view = owned_view(obj)
        for part in ("labels", "annotations"):
            wanted = expected.get(name, {}).get(part, {})
            view[part] = {k: v for k, v in view[part].items() if k in wanted or k not in tolerated}
        actual[name] = view
    problems = [f"missing on host: {name}" for name in sorted(expected.keys() - actual.keys())]
    problems += [f"unexpected on host: {name}" for name in sorted(actual.keys() - expected.keys())]
    for name in sorted(expected.keys() & actual.keys()):
        for part in ("labels", "annotations", "spec"):
            if expected[name][part] != actual[name][part]:
                problems.append(
                    f"{name}.{part}: expected {expected[name][part]!r}, "
                    f"host has {actual[name][part]!r}"
                )
    return problems


async def wait_converged(
    clusters: Clusters,
    patch_list: patches.PatchList | None = None,
    *,
    tolerated: Collection[str] = (),
    timeout: float = CONVERGE_TIMEOUT,  # noqa: ASYNC109
) -> None:
    """Until the host copies equal the translation of every current virtual object
    (``tolerated`` as in :func:`differences`)."""
    last: list[str] = []

    def converged() -> bool:
        expected = expected_copies(clusters.virtual, patch_list)
        last[:] = differences(expected, clusters.host, tolerated=tolerated)
        return not last

    await wait_for(
        converged,
        timeout=timeout,
        interval=0.05,
        message=lambda: "host did not converge:\n  " + "\n  ".join(last[:20]),
    )


async def translate_cli(objects: list[Json], config_path: Path | None = None) -> dict[str, Json]:
    """What ``netpol-syncer translate -o json`` prints for ``objects``, as owned views by name.

    Runs the installed console script as a subprocess (without blocking the event loop, so a
    syncer running in the test keeps working).
    """
    args = ["--name", VCLUSTER, "--host-namespace", HOST_NAMESPACE, "-f", "-", "-o", "json"]
    if config_path is not None:
        args += ["--config", str(config_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETPOL_SYNCER_")}
    process = await asyncio.create_subprocess_exec(
        NETPOL_SYNCER,
        "translate",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    document = {"apiVersion": "v1", "kind": "List", "items": objects}
    out, err = await asyncio.wait_for(process.communicate(json.dumps(document).encode()), 60)
    assert process.returncode == 0, err.decode()
    printed = json.loads(out)
    assert printed["kind"] == "List"
    return {o["metadata"]["name"]: owned_view(as_stored(o)) for o in printed["items"]}


# --- events, counters, request log -------------------------------------------------------------


def events_for(virtual: KubeSim, obj: Mapping[str, Any], reason: str | None = None) -> list[Json]:
    """Events in the virtual cluster whose involvedObject is ``obj``, oldest first."""
    meta = obj["metadata"]
    found = virtual.store.list(
        "events",
        meta.get("namespace", "default"),
        field_selector=f"involvedObject.name={meta['name']}",
    )
    return [e for e in found if reason is None or e.get("reason") == reason]


def writes(sim: KubeSim, verb: str | None = None) -> int:
    """NetworkPolicy write requests ``sim`` received (``verb`` narrows to one)."""
    verbs = (verb,) if verb else WRITE_VERBS
    return sum(sim.counters[v, NETPOLS] for v in verbs)


@dataclass(frozen=True, slots=True)
class Request:
    at: float
    verb: str
    resource: str


class RequestLog:
    """Every resource request a kubesim receives, with the monotonic time it arrived.

    kubesim counts requests through ``counters.record``; this wraps that one method of one
    server instance (nothing in kubesim changes) so a test can assert on the spacing of
    retries, e.g. that a ``Retry-After`` was honoured.
    """

    def __init__(self, sim: KubeSim) -> None:
        self.requests: list[Request] = []
        record = sim.counters.record

        def logged(verb: str, resource: str) -> None:
            self.requests.append(Request(time.monotonic(), verb, resource))
            record(verb, resource)

        sim.counters.record = logged  # type: ignore[method-assign]

    def times(self, verb: str, resource: str = NETPOLS) -> list[float]:
        return [r.at for r in self.requests if r.verb == verb and r.resource == resource]


class DeleteWatchdog:
    """Records every host delete the syncer makes while the virtual object it copies (same
    uid) still exists: the one thing that must never happen (SPEC §1, "never deletes on
    partial knowledge").

    It wraps ``delete`` of the host's storage instance and looks only at deletes with a uid
    precondition, which the syncer always sends and a test's own direct deletes do not.
    """

    def __init__(self, clusters: Clusters) -> None:
        self.violations: list[str] = []
        self.checked = 0
        self._virtual = clusters.virtual
        host = clusters.host
        if isinstance(host, KubeSim):
            storage = host.storage
            delete = storage.delete

            def watched(rtype: Any, namespace: str | None, name: str, **options: Any) -> Any:
                if options.get("uid") is not None and rtype.plural == NETPOLS:
                    entry = storage.find(rtype, namespace, name)
                    if entry is not None:
                        self._check(entry.copy(), namespace, name)
                return delete(rtype, namespace, name, **options)

            storage.delete = watched  # type: ignore[method-assign]
        else:  # a real server: the fault proxy shows each DELETE before forwarding it

            def hook(info: Any, body: bytes) -> None:
                options = json.loads(body) if body else {}
                uid = (options.get("preconditions") or {}).get("uid")
                if uid is None or info.resource != NETPOLS or not info.name:
                    return
                current = host.store.find(NETPOLS, info.namespace, info.name)
                if current is not None:
                    self._check(current, info.namespace, info.name)

            host.proxy.delete_hooks.append(hook)

    def _check(self, current: Json, namespace: str | None, name: str) -> None:
        self.checked += 1
        annotations = current["metadata"].get("annotations") or {}
        source = self._virtual.store.find(
            NETPOLS,
            annotations.get(markers.OBJECT_NAMESPACE, ""),
            annotations.get(markers.OBJECT_NAME, ""),
        )
        if source is not None and source["metadata"]["uid"] == annotations.get(markers.OBJECT_UID):
            self.violations.append(f"{namespace}/{name} deleted while its source exists")

    def assert_clean(self) -> None:
        assert not self.violations, self.violations


class Outage:
    """``sim.outage()`` that can end in the middle of a block: ``await outage.end()``."""

    def __init__(self, sim: KubeSim) -> None:
        self._manager: contextlib.AbstractAsyncContextManager[None] | None = sim.outage()

    async def __aenter__(self) -> Outage:
        assert self._manager is not None
        await self._manager.__aenter__()
        return self

    async def end(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            await manager.__aexit__(None, None, None)

    async def __aexit__(self, *exc: object) -> None:
        await self.end()
