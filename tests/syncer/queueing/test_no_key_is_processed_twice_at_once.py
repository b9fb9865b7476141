"""Property: under any schedule of adds, delayed adds, retries (with and without Retry-After),
claims, completions, cancellations and time steps, no key is held by two workers at once, no key
is handed out before a Retry-After given for it is over, every hand-out answers an add, and every
add is eventually answered."""

from __future__ import annotations

import asyncio
import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.pipeline import queueing
from syncer.runtime import clock as clocks
from syncer.runtime import ratelimiting

KEYS = "abc"
WORKERS = 4

Op = tuple[str, int, str, float]  # (action, worker, key, seconds)

ops_strategy = st.lists(
    st.tuples(
        st.sampled_from(
            ["add", "add_after", "retry", "start", "finish", "readd", "cancel", "tick"]
        ),
        st.integers(0, WORKERS - 1),
        st.sampled_from(KEYS),
        st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    ),
    max_size=60,
)


@dataclasses.dataclass
class Model:
    """What the test knows independently of the queue."""

    holders: dict[str, int] = dataclasses.field(default_factory=dict)
    needs: dict[str, bool] = dataclasses.field(default_factory=lambda: dict.fromkeys(KEYS, False))
    violations: list[str] = dataclasses.field(default_factory=list)
    held_until: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Worker:
    """One worker that claims one key and holds it until told to finish."""

    number: int
    task: asyncio.Task[None] | None = None
    release: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    readd: bool = False

    async def claim_once(
        self, queue: queueing.WorkQueue[str], model: Model, clock: clocks.FakeClock
    ) -> None:
        async with queue.get() as key:
            if clock.now() < model.held_until.get(key, 0.0):
                model.violations.append(f"{key} handed out before its Retry-After")
            if key in model.holders:
                model.violations.append(f"{key} held by {model.holders[key]} and {self.number}")
            if not model.needs[key]:
                model.violations.append(f"{key} handed out without an add since the last time")
            model.holders[key] = self.number
            model.needs[key] = False
            try:
                await self.release.wait()
                if self.readd:
                    queue.add(key)
                    model.needs[key] = True
            finally:
                del model.holders[key]


async def run_schedule(ops: list[Op]) -> Model:
    clock = clocks.FakeClock()
    limiter = ratelimiting.ItemExponentialLimiter(
        settings=ratelimiting.ItemBackoffSettings(base=0.5, cap=2.0)
    )
    queue: queueing.WorkQueue[str] = queueing.WorkQueue(limiter=limiter, clock=clock)
    model = Model()
    workers = [Worker(n) for n in range(WORKERS)]

    def idle(worker: Worker) -> bool:
        return worker.task is None or worker.task.done()

    for action, n, key, seconds in ops:
        worker = workers[n]
        if action == "add":
            queue.add(key)
            model.needs[key] = True
        elif action == "add_after":
            queue.add_after(key, seconds)
            model.needs[key] = True
        elif action == "retry":
            queue.add_rate_limited(key, at_least=seconds)
            model.needs[key] = True
            if seconds > 0:
                until = max(model.held_until.get(key, 0.0), clock.now() + seconds)
                model.held_until[key] = until
        elif action == "start" and idle(worker):
            workers[n] = worker = Worker(n)
            worker.task = asyncio.create_task(worker.claim_once(queue, model, clock))
        elif action in ("finish", "readd"):
            worker.readd = action == "readd"
            worker.release.set()
        elif action == "cancel" and worker.task is not None:
            worker.task.cancel()
        elif action == "tick":
            clock.advance(seconds)
        await clock.settle(4)
        if queue.processing != len(model.holders):
            model.violations.append(f"{queue.processing=} but holders={model.holders}")

    # Liveness: release everyone, then let fresh workers take whatever is still due.
    for worker in workers:
        worker.release.set()
    await clock.settle()
    drainers = [Worker(WORKERS + i) for i in range(WORKERS)]
    for drainer in drainers:
        drainer.release.set()

    async def drain_forever(drainer: Worker) -> None:
        while True:
            await drainer.claim_once(queue, model, clock)

    tasks = [asyncio.create_task(drain_forever(d)) for d in drainers]
    await clock.run_for(10.0)
    stuck = [k for k, needed in model.needs.items() if needed]
    if stuck or len(queue) or queue.waiting or queue.processing:
        model.violations.append(f"never answered: {stuck}, queue={len(queue)}/{queue.waiting}")
    await queue.drain()
    await asyncio.gather(*tasks, *(w.task for w in workers if w.task), return_exceptions=True)
    return model


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_strategy)
def test_random_schedules_keep_the_contract(ops: list[Op]) -> None:
    """Random schedules never overlap a key, never hand out an unrequested key, never lose one."""
    with asyncio.Runner() as runner:
        model = runner.run(asyncio.wait_for(run_schedule(ops), timeout=30.0))  # a hang fails
    assert model.violations == []
