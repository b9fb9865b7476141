"""The fault campaign's replicas: ``netpol-syncer run --leader-elect`` processes it starts,
kills and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import _harness as h

# -- the replicas --------------------------------------------------------------------------------


@dataclass
class Replica:
    """One ``netpol-syncer run --leader-elect`` process, restartable."""

    tag: str
    args: list[str]
    log_path: Path
    session: aiohttp.ClientSession
    proc: h.SyncerProcess | None = None
    starts: int = 0
    kills: int = 0
    unexpected: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    _told: bool = False
    _monitor: asyncio.Task[None] | None = None
    last_metrics: h.Samples = field(default_factory=dict)

    async def start(self) -> None:
        """Spawn the process and wait until it serves its probes (signal handlers are set
        by then, so a SIGTERM is a clean shutdown, not a kill during start-up)."""
        self.proc = await h.spawn_syncer(self.args, self.log_path, self.session)
        self._told = False
        self.starts += 1
        self._monitor = asyncio.create_task(self._watch(self.proc))
        await h.wait_for_async(self._serving, within=60, what=f"replica {self.tag} to serve")

    async def healthz(self) -> int | None:
        """The status of ``/healthz`` now (``None``: not answering)."""
        if not self.running:
            return None
        assert self.proc is not None
        try:
            async with self.session.get(self.proc.url + "/healthz") as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def _serving(self) -> bool:
        assert self.proc is not None
        try:
            async with self.session.get(self.proc.url + "/healthz") as response:
                await response.read()
                return True
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _watch(self, proc: h.SyncerProcess) -> None:
        code = await proc.process.wait()
        if not self._told:
            self.unexpected.append(f"replica {self.tag} exited with {code} unasked")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.process.returncode is None

    async def scrape(self) -> h.Samples:
        """The process's metrics now, or ``{}`` when it does not answer (last good kept)."""
        if self.proc is not None and self.proc.process.returncode is None:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                self.last_metrics = await self.proc.metrics()
                return self.last_metrics
        return {}

    async def leading(self) -> bool:
        samples = await self.scrape()
        return h.metric(samples, "netpol_syncer_leader") == 1

    async def kill9(self) -> None:
        assert self.proc is not None
        await self.scrape()
        self._told = True
        self.kills += 1
        self.proc.process.send_signal(signal.SIGKILL)
        await self.proc.process.wait()

    async def terminate(self) -> int | None:
        if self.proc is None or self.proc.process.returncode is not None:
            return None
        await self.scrape()
        self._told = True
        code = await self.proc.stop()
        self.exit_codes.append(code)
        return code

    def rss(self) -> dict[str, int]:
        if self.proc is None or self.proc.process.returncode is not None:
            return {}
        return self.proc.rss()
