"""``netpol-syncer run``: wire settings, clients, controller and server; stop cleanly.

Order matters for safety and for probes: the metrics/health server starts first, so whatever
the syncer waits for shows on ``/readyz`` (and the ``waiting`` gauge) instead of as a dead pod.
Missing inputs are waited for, never answered by exiting (a crash-looping sidecar takes the
vCluster's control-plane pod down with it): the virtual kubeconfig file (vCluster writes it only
once its controllers run; it is followed for rotations afterwards, see :mod:`reloading`), an API
server that answers, RBAC that allows the initial lists (the informers retry with backoff).

Every long-running task runs under one :class:`supervising.Supervisor`; one given up on ends
the process with exit code 1. On SIGTERM or SIGINT intake stops, in-flight writes finish, the
lease is released, and the process exits 0 within :data:`SHUTDOWN_BUDGET`, whatever state the
tasks are in. With ``enabled: false`` in the config the process stays up serving health and
metrics and syncs nothing, so turning the feature off never crash-loops the vCluster pod.

Connecting (rate limits, waiting for and following kubeconfigs) is in
:mod:`syncer.commands.connecting`. What stays here, about 370 lines, is one process lifecycle
(start order, probes, the bounded stop): split further, the shutdown bounds documented on
:data:`SHUTDOWN_BUDGET` would sit apart from the code that keeps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Callable
from typing import Any

import prometheus_client
import structlog

import patches
import translate
from syncer.commands import connecting
from syncer.configuration import settings
from syncer.pipeline import controller, guarding, reconciling
from syncer.runtime import (
    clients,
    electing,
    logs,
    metrics,
    reloading,
    serving,
    supervising,
)
from syncer.runtime.clock import Clock, LoopClock

log = structlog.get_logger("syncer.commands.running")

SHUTDOWN_GRACE: float = settings.default("shutdown_grace")
"""The default of ``--shutdown-grace`` (:attr:`settings.Settings.shutdown_grace` says why)."""

SERVER_STOP = 0.5
"""Seconds the metrics server waits for scrapes in flight when stopping."""

RELEASE_TIMEOUT = 1.0
"""Seconds the lease release may take before the lease is left to run out."""

STOP_TIMEOUT = 0.5
"""Seconds the stop waits past each bound (drain and flush, lease release) before going on
without the task: a last resort, the controller itself leaves stuck tasks behind sooner."""

SHUTDOWN_BUDGET = (
    SHUTDOWN_GRACE + 0.5 + 2 * controller.CANCEL_TIMEOUT + RELEASE_TIMEOUT + SERVER_STOP
)
"""Worst case from SIGTERM to exit (drain, event flush, the controller's then the elector's and
kubeconfig watches' cancelled tasks ending or left behind, lease release, server stop): 5 s,
well inside the control-plane pod's 15 s grace period."""


def desire_for(target: translate.Target, patch_list: patches.PatchList) -> reconciling.Desire:
    """The host-copy stage without guardrails (:func:`guarding.desire_for`)."""
    return guarding.desire_for(target, patch_list)


class Syncer:
    """One ``netpol-syncer run`` process; attributes are exposed for the demo and tests."""

    kubeconfig_poll: float = reloading.POLL_INTERVAL
    """Seconds between checks of the kubeconfig files for rotations (tests shorten it)."""
    informer_fail_after: float = controller.ControllerSettings().fail_after
    """Seconds an informer that had listed may fail before /healthz does (tests shorten it)."""

    def __init__(self, config: settings.Settings) -> None:
        self.config = config
        self.clock: Clock = LoopClock()
        self.metrics = metrics.Metrics()
        self.supervisor = supervising.Supervisor(metrics=self.metrics, clock=self.clock)
        self.controller: controller.Controller | None = None
        self.elector: electing.LeaderElector | None = None
        self.server: serving.Server | None = None
        self.watches: dict[str, reloading.KubeconfigWatch] = {}
        self.started = asyncio.Event()
        """Set once the metrics server listens (``server.port`` is then known)."""
        self._pending: dict[str, str | None] = {}
        """Waits before the controller exists (``virtual-kubeconfig``...), with the reason."""
        for what in metrics.WAIT_FOR:
            self.metrics.track_waiting(what, self._is_waiting(what))

    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set; returns the exit code."""
        config = self.config
        for warning in config.sync.warnings:
            log.warning("config", detail=warning)
        log.info(
            "starting",
            vcluster=config.name,
            host_namespace=config.host_namespace,
            config=config.sync.summary(),
        )
        if config.sync.source is None:
            log.info(
                "no config file; running with the defaults",
                path=config.config_path,
                enabled=config.sync.enabled,
                patches=len(config.sync.patches),
            )
        if not config.sync.enabled:
            return await self._idle(stop)
        async with serving.Server(
            config.metrics_address,
            metrics=self.metrics,
            health=self.health,
            ready=self.ready,
            shutdown_timeout=SERVER_STOP,
        ) as self.server:
            self.started.set()
            code = await self._until_stopped(stop)
        log.info("stopped", exit_code=code)
        return code

    def _is_waiting(self, what: str) -> Callable[[], bool]:
        return lambda: self.waits()[what] is not None

    # -- probes ---------------------------------------------------------------------------------

    def waits(self) -> dict[str, str | None]:
        """Every input the syncer may wait for (:data:`metrics.WAIT_FOR`), with the reason it
        is still waiting, or None."""
        found: dict[str, str | None] = dict.fromkeys(metrics.WAIT_FOR)
        if not self.config.sync.enabled:
            return found  # nothing to wait for: nothing is synced
        found.update(self._pending)
        if self.controller is not None:
            found.update(self.controller.waits())
        elif not any(found.values()):
            found["virtual-api"] = "not connected yet"
        return found

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """``/readyz``: ready once nothing is awaited; each check names one input."""
        detail: dict[str, Any] = {
            what: {"ok": True} if why is None else {"ok": False, "waiting": why}
            for what, why in self.waits().items()
        }
        return all(d["ok"] for d in detail.values()), detail

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``/healthz``: no task given up, informers alive and not failing for long, the
        elector not crashing for long. Waiting for an input is healthy."""
        detail: dict[str, Any] = {"tasks": self.supervisor.health()}
        if self.controller is not None:
            detail.update(self.controller.health()[1])
        if self.elector is not None:
            detail["elector"] = self.elector.health()
        ok = all(not (isinstance(d, dict) and d.get("ok") is False) for d in detail.values())
        return ok, detail

    # -- lifecycle ------------------------------------------------------------------------------

    async def _until_stopped(self, stop: asyncio.Event) -> int:
        syncing = asyncio.create_task(self._sync(), name="sync")
        stopping = asyncio.create_task(stop.wait(), name="stop")
        try:
            await asyncio.wait({syncing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            stopping.cancel()
            syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncing
            raise
        stopping.cancel()
        if syncing.done():
            # Only a task given up on (or a bug) ends syncing before a stop.
            error = None if syncing.cancelled() else syncing.exception()
            log.error("syncing stopped", error=repr(error), exc_info=error)
            return 1
        log.info("shutting down")
        try:
            if self.controller is not None:
                # Bounded with asyncio.wait, never wait_for or gather: both wait for what they
                # cancel to end, so one task that ignores its cancellation would hold the stop.
                shutdown = asyncio.create_task(
                    self.controller.shutdown(grace=self.config.shutdown_grace), name="shutdown"
                )
                bound = self.config.shutdown_grace + 0.5 + controller.CANCEL_TIMEOUT
                await asyncio.wait({shutdown}, timeout=bound + STOP_TIMEOUT)
                if shutdown.done() and shutdown.exception() is not None:
                    error = shutdown.exception()
                    log.error("error while shutting down", error=repr(error), exc_info=error)
                # Workers are done; the elector and watchers stop, the lease is released.
                await asyncio.wait({syncing}, timeout=RELEASE_TIMEOUT + STOP_TIMEOUT)
            if not syncing.done():
                syncing.cancel()
                await asyncio.wait({syncing}, timeout=STOP_TIMEOUT)
            if not syncing.done():
                stuck = [t.get_name() for t in asyncio.all_tasks() if t.cancelling()]
                log.error("tasks did not stop; releasing the lease anyway", tasks=sorted(stuck))
                if self.elector is not None:
                    await self.elector.release()
            elif not syncing.cancelled() and syncing.exception() is not None:
                error = syncing.exception()
                log.error("error while shutting down", error=repr(error), exc_info=error)
        except Exception:
            # Stopping was asked for: whatever went wrong on the way out is logged, not fatal.
            log.exception("error while shutting down")
        return 0

    async def _sync(self) -> None:
        """Connect (waiting as long as it takes), then run the controller and the elector
        until the controller returns (after shutdown) or a task is given up on."""
        config = self.config
        apis: list[clients.KubeApi] = []
        tasks: list[asyncio.Task[None]] = []
        elector: electing.LeaderElector | None = None
        try:
            virtual = await self._connect(
                "virtual", config.virtual_kubeconfig, config.virtual_qps, config.virtual_burst
            )
            apis.append(virtual)
            host = await self._connect(
                "host", config.host_kubeconfig, config.host_qps, config.host_burst
            )
            apis.append(host)
            elector = self.elector = self._elector(host)
            guard = None
            desire = desire_for(config.target, config.sync.patches)
            if config.sync.guardrails.enabled:
                guard = guarding.Guard(
                    target=config.target,
                    patch_list=config.sync.patches,
                    rails=config.sync.guardrails,
                    dns_embedded=config.sync.dns_embedded,
                )
                desire = guard.desire
            ctl = self.controller = controller.Controller(
                target=config.target,
                virtual_api=virtual,
                host_api=host,
                desire=desire,
                guard=guard,
                metrics=self.metrics,
                settings=controller.ControllerSettings(
                    workers=config.workers,
                    resync_period=config.resync_period or float("inf"),
                    fail_after=self.informer_fail_after,
                ),
                clock=self.clock,
                leadership=elector,
                supervisor=self.supervisor,
            )
            if elector is not None:
                tasks.append(self.supervisor.spawn("elector", elector.run))
            else:
                self.metrics.set_leader(True)
            for watch in self.watches.values():
                name = f"kubeconfig-{watch.cluster}"
                tasks.append(self.supervisor.spawn(name, watch.run))
            running = asyncio.create_task(ctl.run(), name="controller")
            await asyncio.wait([running, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled():
                    task.result()  # raises what made the supervisor give it up
            await running
        finally:
            for task in tasks:
                task.cancel()
            # Not gather: a task ignoring its cancellation must not keep the lease held.
            _, stuck = (
                await asyncio.wait(tasks, timeout=controller.CANCEL_TIMEOUT) if tasks else ((), ())
            )
            if stuck:
                names = sorted(t.get_name() for t in stuck)
                log.error("tasks did not stop when cancelled; left behind", tasks=names)
            if elector is not None:
                await elector.release()
            self.metrics.set_leader(False)
            for api in apis:
                with contextlib.suppress(Exception):
                    await api.close()

    async def _connect(
        self, cluster: str, kubeconfig: str | None, qps: float, burst: int
    ) -> clients.KubeApi:
        """A client for ``cluster`` once it can be had, its wait shown on ``/readyz``."""
        wait = "virtual-kubeconfig" if cluster == "virtual" else "host-api"

        def waiting(reason: str | None) -> None:
            self._pending[wait] = reason

        api, watch = await connecting.connect_and_follow(
            kubeconfig,
            cluster=cluster,
            qps=qps,
            burst=burst,
            observer=self.metrics,
            clock=self.clock,
            waiting=waiting,
            poll=self.kubeconfig_poll,
            on_reconnected=lambda moved: self._reconnected(cluster, moved),
        )
        if watch is not None:
            self.watches[cluster] = watch
        return api

    def _reconnected(self, cluster: str, moved: bool) -> None:
        if self.controller is not None:
            self.controller.reconnected(cluster, relist=moved)

    def _elector(self, host: clients.KubeApi) -> electing.LeaderElector | None:
        config = self.config
        if not config.leader_elect:
            return None
        return electing.LeaderElector(
            api=host,
            settings=electing.LeaseSettings(
                name=config.leader_elect_resource_name,
                namespace=config.leader_elect_resource_namespace,
                identity=electing.default_identity(),
                lease_duration=config.leader_elect_lease_duration,
                renew_deadline=config.leader_elect_renew_deadline,
                retry_period=config.leader_elect_retry_period,
            ),
            clock=self.clock,
            metrics=self.metrics,
        )

    async def _idle(self, stop: asyncio.Event) -> int:
        async with serving.Server(
            self.config.metrics_address, metrics=self.metrics, health=_always_ok, ready=_always_ok
        ) as self.server:
            self.started.set()
            log.info("sync disabled by configuration; serving health and metrics only")
            self.metrics.set_leader(False)
            await stop.wait()
        return 0


async def run(config: settings.Settings, *, stop: asyncio.Event | None = None) -> int:
    """``netpol-syncer run``: until SIGTERM/SIGINT (or ``stop``); returns the exit code."""
    logs.configure(log_format=config.log_format, level=config.log_level)
    # One process, one syncer: the per-series creation timestamps only double the scrape size.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    # Everything imported so far lives as long as the process; keep full garbage collections
    # from scanning it again and again.
    gc.freeze()
    return await Syncer(config).run(stop or _stop_on_signals())


def _always_ok() -> tuple[bool, dict[str, Any]]:
    return True, {"sync": "disabled"}


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
