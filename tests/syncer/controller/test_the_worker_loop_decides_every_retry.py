"""The production worker loop on a fake clock: exactly how often a key is tried, when it is given
up, and what the tenant and the metrics see (SPEC §6, STYLE point 5)."""

from __future__ import annotations

import asyncio

import pytest

from syncer.pipeline import reconciling, working
from syncer.runtime import clock as clocks
from syncer.runtime import errors
from tests.support import workers as rigs
from translate import ObjectKey

KEY = rigs.key("web")


@pytest.fixture
def clock() -> clocks.FakeClock:
    return clocks.FakeClock()


class Script:
    """A reconcile that answers from a list of outcomes (the last one repeats) and notes when
    it was called."""

    def __init__(self, clock: clocks.FakeClock, *answers: Exception | reconciling.Outcome) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.at: list[float] = []

    async def __call__(self, key: ObjectKey) -> reconciling.Outcome:
        self.at.append(self.clock.now())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _start(rig: rigs.Rig) -> asyncio.Task[None]:
    return asyncio.create_task(rig.workers.run())


def _unavailable() -> errors.ServerError:
    return errors.ServerError(503, reason="ServiceUnavailable", message="etcd is away")


async def _stop(rig: rigs.Rig, task: asyncio.Task[None], clock: clocks.FakeClock) -> None:
    """Shut the queue down; a worker pausing on the clock returns once the pause is over."""
    rig.queue.shut_down()
    await clock.run_for(working.NOT_LEADER_PAUSE)
    await asyncio.wait_for(task, 1.0)


async def test_a_key_is_given_up_exactly_after_max_retries(clock: clocks.FakeClock) -> None:
    """With max_retries 3 a key that keeps failing is tried 4 times (at 0, 1, 3 and 7 s), then
    given up: one Warning event naming the retries, one error counted, no further attempt."""
    script = Script(clock, _unavailable())
    rig = rigs.rig(script, clock=clock, max_retries=3, virtual=["web"])
    task = _start(rig)
    rig.queue.add(KEY)
    await clock.run_for(600)
    assert script.at == [0.0, 1.0, 3.0, 7.0]
    assert [e[:3] for e in rig.told.events] == [("Warning", "web", "SyncError")]
    assert "gave up after 3 retries" in rig.told.events[0][3]
    assert rig.metrics.errors == {"ApiError": 1}
    assert rig.queue.num_requeues(KEY) == 0, "a key given up keeps no backoff"
    await _stop(rig, task, clock)


async def test_a_key_succeeding_on_its_last_retry_is_not_given_up(
    clock: clocks.FakeClock,
) -> None:
    """The boundary from the other side: failing max_retries times, then succeeding, is a
    success with no event and no error."""
    script = Script(clock, *[_unavailable()] * 3, rigs.done())
    rig = rigs.rig(script, clock=clock, max_retries=3, virtual=["web"])
    task = _start(rig)
    rig.queue.add(KEY)
    await clock.run_for(600)
    assert script.at == [0.0, 1.0, 3.0, 7.0]
    assert rig.told.events == []
    assert rig.metrics.errors == {}
    assert rig.metrics.results == {"error": 3, "updated": 1}
    await _stop(rig, task, clock)


@pytest.mark.parametrize(
    ("error", "event", "metric"),
    [
        pytest.param(
            errors.PatchFailed("patch 0 (test) failed"), "SyncError", "PatchFailed", id="patch"
        ),
        pytest.param(
            errors.HostNameCollision("host name taken"),
            "HostNameCollision",
            "HostNameCollision",
            id="collision",
        ),
        pytest.param(
            errors.Invalid(422, reason="Invalid", message="spec.ingress"),
            "SyncError",
            "ApiError",
            id="api-422",
        ),
    ],
)
async def test_a_permanent_failure_is_given_up_at_once(
    clock: clocks.FakeClock, error: Exception, event: str, metric: str
) -> None:
    """A permanent failure is tried once: one Warning event with its reason, one error counted
    under its reason, and no retry until the object changes."""
    script = Script(clock, error)
    rig = rigs.rig(script, clock=clock, virtual=["web"])
    task = _start(rig)
    rig.queue.add(KEY)
    await clock.run_for(600)
    assert script.at == [0.0]
    assert [e[:3] for e in rig.told.events] == [("Warning", "web", event)]
    assert rig.metrics.errors == {metric: 1}
    await _stop(rig, task, clock)


async def test_success_forgets_the_backoff(clock: clocks.FakeClock) -> None:
    """After two failures (1 s, then 2 s of backoff) a success resets the key: its next
    failure waits the base 1 s again, not 4 s."""
    script = Script(clock, _unavailable(), _unavailable(), rigs.done(), _unavailable(), rigs.done())
    rig = rigs.rig(script, clock=clock, virtual=["web"])
    task = _start(rig)
    rig.queue.add(KEY)
    await clock.run_for(10)
    assert script.at == [0.0, 1.0, 3.0]
    rig.queue.add(KEY)  # the object changes again
    await clock.run_for(10)
    assert script.at == [0.0, 1.0, 3.0, 10.0, 11.0]
    await _stop(rig, task, clock)


async def test_a_worker_refused_for_want_of_leadership_pauses(clock: clocks.FakeClock) -> None:
    """A reconcile refused because this replica does not lead puts the key back and pauses the
    worker, so the key is tried every NOT_LEADER_PAUSE, not in a hot loop; no event, no error."""
    script = Script(clock, errors.NotLeader("not the leader"))
    rig = rigs.rig(script, clock=clock, virtual=["web"])
    task = _start(rig)
    rig.queue.add(KEY)
    await clock.run_for(2.0)
    pause = working.NOT_LEADER_PAUSE
    assert script.at == [i * pause for i in range(int(2.0 / pause) + 1)]
    assert rig.told.events == []
    assert rig.metrics.errors == {}
    assert rig.metrics.results == {"skipped": len(script.at)}
    await _stop(rig, task, clock)
