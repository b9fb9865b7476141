"""``netpol-syncer run``: wire settings, clients, controller and server; stop cleanly.

Order matters for safety and for probes: the metrics/health server starts first (so a slow
virtual API shows as "not ready" rather than a dead pod), the controller second; on SIGTERM or
SIGINT intake stops, in-flight writes finish, the lease is released, and the process exits 0.
With ``enabled: false`` in the config the process stays up serving health and metrics and
syncs nothing, so turning the feature off never crash-loops the vCluster pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import prometheus_client
import structlog

import patches
import translate
from syncer import (
    clients,
    controller,
    electing,
    errors,
    logs,
    metrics,
    ratelimiting,
    reconciling,
    serving,
    settings,
)
from syncer.clock import Clock, LoopClock

log = structlog.get_logger("syncer.running")

SHUTDOWN_GRACE = 3.0
"""Seconds in-flight reconciles get after SIGTERM. A host write takes milliseconds; a hung one
is abandoned (its object is reconciled again by the next process), so that with event flush
(1 s), lease release (1 s) and server stop (0.5 s) the process is gone within 5 s."""

SERVER_STOP = 0.5
"""Seconds the metrics server waits for scrapes in flight when stopping."""


def desire_for(target: translate.Target, patch_list: patches.PatchList) -> reconciling.Desire:
    """translate, then the configured patches; a refused patch becomes :class:`PatchFailed`."""

    def desire(virtual: translate.NetworkPolicy) -> translate.NetworkPolicy:
        translated = translate.to_host(virtual, target)
        try:
            return patch_list.apply(translated, vcluster=target.vcluster)
        except patches.PatchRefused as exc:
            raise errors.PatchFailed(str(exc)) from exc

    return desire


def throttle(qps: float, burst: int, clock: Clock) -> Callable[[], Awaitable[None]]:
    """Client-side rate limit: a token bucket shared by every request to one cluster."""
    bucket = ratelimiting.TokenBucketLimiter(
        settings=ratelimiting.TokenBucketSettings(qps=qps, burst=burst), clock=clock
    )

    async def wait() -> None:
        delay = bucket.when("requests")
        if delay > 0:
            await clock.sleep(delay)

    return wait


async def connect(
    kubeconfig: str | dict[str, Any] | None,
    *,
    cluster: str,
    qps: float,
    burst: int,
    observer: clients.RequestObserver,
    clock: Clock,
) -> clients.KubeApi:
    return await clients.KubeApi.connect(
        kubeconfig,
        cluster=cluster,
        throttle=throttle(qps, burst, clock),
        observer=observer,
    )


class Syncer:
    """One ``netpol-syncer run`` process; attributes are exposed for the demo and tests."""

    def __init__(self, config: settings.Settings) -> None:
        self.config = config
        self.clock: Clock = LoopClock()
        self.metrics = metrics.Metrics()
        self.controller: controller.Controller | None = None
        self.server: serving.Server | None = None
        self.started = asyncio.Event()
        """Set once the metrics server listens (``server.port`` is then known)."""

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
        if not config.sync.enabled:
            return await self._idle(stop)

        virtual = await connect(
            config.virtual_kubeconfig,
            cluster="virtual",
            qps=config.virtual_qps,
            burst=config.virtual_burst,
            observer=self.metrics,
            clock=self.clock,
        )
        host = await connect(
            config.host_kubeconfig,
            cluster="host",
            qps=config.host_qps,
            burst=config.host_burst,
            observer=self.metrics,
            clock=self.clock,
        )
        elector = self._elector(host)
        ctl = self.controller = controller.Controller(
            target=config.target,
            virtual_api=virtual,
            host_api=host,
            desire=desire_for(config.target, config.sync.patches),
            metrics=self.metrics,
            settings=controller.ControllerSettings(
                workers=config.workers,
                resync_period=config.resync_period or float("inf"),
            ),
            clock=self.clock,
            leadership=elector,
        )
        electing_task = asyncio.create_task(elector.run()) if elector is not None else None
        if elector is None:
            self.metrics.set_leader(True)
        try:
            async with serving.Server(
                config.metrics_address,
                metrics=self.metrics,
                health=ctl.health,
                ready=ctl.ready,
                shutdown_timeout=SERVER_STOP,
            ) as self.server:
                self.started.set()
                return await self._until_stopped(ctl, stop)
        finally:
            if electing_task is not None and elector is not None:
                electing_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await electing_task
                await elector.release()
            await virtual.close()
            await host.close()
            log.info("stopped")

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

    async def _until_stopped(self, ctl: controller.Controller, stop: asyncio.Event) -> int:
        running = asyncio.create_task(ctl.run(), name="controller")
        stopping = asyncio.create_task(stop.wait(), name="stop")
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        log.info("shutting down")
        await ctl.shutdown(grace=SHUTDOWN_GRACE)
        stopping.cancel()
        if not running.done():
            # Still waiting for an initial list (an unreachable API) or for leadership.
            running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        if running.done() and not running.cancelled() and running.exception() is not None:
            log.error("controller stopped", error=repr(running.exception()))
            return 1
        return 0

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
