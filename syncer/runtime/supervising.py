"""Supervision of the long-running tasks (informers, workers, elector, resync, event recorder,
kubeconfig watchers), after kopf's daemons and client-go's ``wait.Until``/``HandleCrash``.

A task that silently ends is the worst failure: its work stops while metrics and probes stay
green. So every such task runs under :meth:`Supervisor.spawn`:

- an unexpected exception is logged with its stack and counted
  (``netpol_syncer_task_failures_total{task}``);
- the task starts again after a capped exponential backoff (``RestartPolicy``); its object keeps
  its state (an informer resumes from its last resourceVersion);
- a task that crashes ``give_up_after`` times in a row (crashes less than ``healthy_after``
  apart) is given up: it ends with :class:`TaskFailed`, ``/healthz`` fails, and whoever awaits
  the task (the controller, then ``run``) ends the process non-zero.

A task that returns has finished its job (a worker after the queue shut down) and is not
restarted. :meth:`Supervisor.restart` starts a task over at once without counting a failure
(an informer after its client was reconnected).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from syncer.runtime.clock import Clock, LoopClock

log = structlog.get_logger("syncer.runtime.supervising")


class TaskMetrics(Protocol):
    def task_failed(self, task: str) -> None: ...


class TaskFailed(RuntimeError):
    """A supervised task crashed too often in a row; raised ``from`` its last error."""

    def __init__(self, name: str, failures: int) -> None:
        super().__init__(f"task {name} crashed {failures} times in a row; giving up")
        self.name = name


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartPolicy:
    initial: float = 1.0
    """Seconds before the first restart: long enough not to spin on a bug that fails at once."""
    cap: float = 30.0
    """Longest pause between restarts, as the informers' reconnect backoff."""
    give_up_after: int = 6
    """Crashes in a row before the process gives up (about a minute of restarts): a bug that
    survives that many fresh starts needs a new process, or a human."""
    healthy_after: float = 60.0
    """A run at least this long before crashing starts the count again."""

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.initial * 2 ** max(failures - 1, 0)))


@dataclass
class _State:
    label: str
    attempt: asyncio.Task[None] | None = None
    restarting: bool = False
    crashes: int = 0
    """Crashes of the current streak."""
    last_error: str | None = None
    gave_up: bool = False


class Supervisor:
    """Spawns supervised tasks and reports on them for ``/healthz``."""

    def __init__(
        self,
        *,
        metrics: TaskMetrics | None = None,
        clock: Clock | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        self._metrics = metrics
        self._clock = clock or LoopClock()
        self.policy = policy or RestartPolicy()
        self._states: dict[str, _State] = {}

    def spawn(
        self, name: str, run: Callable[[], Awaitable[None]], *, label: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``run()`` as task ``name`` under supervision; ``label`` is the metric's ``task``
        label (``worker`` for every ``worker-N``), ``name`` by default."""
        state = self._states.setdefault(name, _State(label or name))
        return asyncio.create_task(self._forever(name, state, run), name=name)

    def restart(self, name: str) -> None:
        """Start task ``name`` over at once (no failure counted); no-op if it is not running."""
        state = self._states.get(name)
        if state is None or state.attempt is None or state.attempt.done():
            return
        state.restarting = True
        state.attempt.cancel()

    def health(self) -> dict[str, Any]:
        """One ``/healthz`` check: fails once any task was given up."""
        failed = sorted(name for name, s in self._states.items() if s.gave_up)
        restarting = {
            name: s.last_error for name, s in self._states.items() if s.crashes and not s.gave_up
        }
        detail: dict[str, Any] = {"ok": not failed}
        if failed:
            detail["failed"] = {name: self._states[name].last_error for name in failed}
        if restarting:
            detail["restarting"] = restarting
        return detail

    async def _forever(self, name: str, state: _State, run: Callable[[], Awaitable[None]]) -> None:
        while True:
            started = self._clock.now()
            attempt: asyncio.Task[None] = asyncio.ensure_future(run())
            state.attempt = attempt
            try:
                await attempt
                return
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if state.restarting and (current is None or not current.cancelling()):
                    state.restarting = False
                    log.info("restarting task", task=name)
                    continue
                attempt.cancel()
                raise
            except Exception as exc:
                await self._crashed(name, state, exc, ran=self._clock.now() - started)

    async def _crashed(self, name: str, state: _State, exc: Exception, *, ran: float) -> None:
        policy = self.policy
        if ran >= policy.healthy_after:
            state.crashes = 0
        state.crashes += 1
        state.last_error = f"{type(exc).__name__}: {exc}"
        if self._metrics is not None:
            self._metrics.task_failed(state.label)
        if state.crashes >= policy.give_up_after:
            state.gave_up = True
            log.error("task crashed; giving up", task=name, crashes=state.crashes, exc_info=exc)
            raise TaskFailed(name, state.crashes) from exc
        delay = policy.delay(state.crashes)
        log.error("task crashed; restarting", task=name, retry_in=delay, exc_info=exc)
        await self._clock.sleep(delay)
