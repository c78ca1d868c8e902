"""Workers: what each outcome of a reconcile does to its key, isolation, and graceful stop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from fleet.engine import queueing, workers
from fleet.structs import errors
from fleet.structs.settings import QueueSettings
from tests.engine_queue.conftest import Reconciler, Step, running
from tests.support.clock import FakeClock

Queue = queueing.WorkQueue[str]


class ScriptedError(Exception):
    """What a scripted reconcile raises to fail."""


FAIL = Step(outcome=ScriptedError("boom"))


@pytest.mark.parametrize(
    ("script", "calls"),
    [
        pytest.param([Step()], [0.0], id="success runs once"),
        pytest.param(
            [Step(outcome=workers.Result(requeue_after=30.0))],
            [0.0, 30.0, 60.0, 90.0],
            id="requeue_after is honoured",
        ),
        pytest.param(
            [FAIL], [0.0, 1.0, 3.0, 7.0, 15.0, 23.0, 31.0], id="failures back off up to the cap"
        ),
        pytest.param(
            [Step(duration=2.0, outcome=workers.Result(requeue_after=10.0))],
            [0.0, 12.0, 24.0],
            id="requeue_after counts from the end of the run",
        ),
        pytest.param(
            [Step(outcome=errors.TerminalError("invalid"))], [0.0], id="terminal is not retried"
        ),
        pytest.param(
            [FAIL, FAIL, Step(outcome=workers.Result(requeue_after=20.0)), FAIL],
            [0.0, 1.0, 3.0, 23.0, 24.0, 26.0],
            id="success forgets earlier failures",
        ),
        pytest.param(
            [Step(duration=1000.0)],
            [0.0, 301.0, 603.0],
            id="a reconcile past the timeout is cancelled and retried",
        ),
    ],
)
async def test_the_outcome_of_a_reconcile_decides_when_the_key_runs_again(
    clock: FakeClock, queue: Queue, settings: QueueSettings, script: list[Step], calls: list[float]
) -> None:
    reconcile = Reconciler(clock, {"a": script})
    async with running(clock, queue, reconcile, settings):
        queue.add("a")
        await clock.advance(calls[-1] + 0.5)
        assert reconcile.times("a") == calls


async def test_a_terminal_error_runs_again_when_added_from_outside(
    clock: FakeClock, queue: Queue, settings: QueueSettings
) -> None:
    reconcile = Reconciler(clock, {"a": [FAIL, Step(outcome=errors.TerminalError("bad")), FAIL]})
    async with running(clock, queue, reconcile, settings):
        queue.add("a")
        await clock.advance(100)
        assert reconcile.times("a") == [0.0, 1.0]
        assert queue.num_requeues("a") == 0
        queue.add("a")
        await clock.advance(1)
        assert reconcile.times("a") == [0.0, 1.0, 100.0, 101.0]  # backoff starts again at base


async def test_a_worker_survives_any_exception_and_logs_it_with_the_key(
    clock: FakeClock, queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    settings = QueueSettings(workers=1, base_delay=1.0, max_delay=8.0, jitter=0.0)
    reconcile = Reconciler(
        clock,
        {
            "broken": [Step(outcome=ScriptedError("boom")), Step(outcome=TimeoutError()), Step()],
            "terminal": [Step(outcome=errors.TerminalError("cannot work"))],
        },
    )
    with caplog.at_level(logging.ERROR, logger="fleet.engine.workers"):
        async with running(clock, queue, reconcile, settings) as pool:
            for key in ["broken", "terminal", "fine"]:
                queue.add(key)
            await clock.advance(10)
            assert [key for key, _ in reconcile.finished] == [
                "broken",
                "terminal",
                "fine",
                "broken",
                "broken",
            ]
            assert repr(pool) == "Workers('test', workers=1, running=1, busy=0)"
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "reconcile of broken failed (1 in a row); retrying in 1 s",
        "reconcile of terminal failed, not retrying until it changes: cannot work",
        "reconcile of broken failed (2 in a row); retrying in 2 s",
    ]


async def test_no_key_runs_on_two_workers_at_once_and_an_add_during_a_run_runs_it_once_more(
    clock: FakeClock, queue: Queue, settings: QueueSettings
) -> None:
    keys = ["a", "b", "c"]
    reconcile = Reconciler(clock, {key: [Step(duration=1.0)] for key in keys})
    async with running(clock, queue, reconcile, settings):
        for _ in range(10):  # every key added again and again while it runs
            for key in keys:
                queue.add(key)
                queue.add(key)
            await clock.advance(0.25)
        await clock.advance(5)
    assert reconcile.overlaps == []
    assert reconcile.most_at_once == 3  # the keys did run side by side on the four workers
    for key in keys:
        # Added during the run from 0 to 1 and again and again until 2.25: each run
        # ends with the key dirty, so it runs once more -- never lost, never doubled.
        assert reconcile.times(key) == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("slow", "stopped_at", "cancelled"),
    [
        pytest.param(15.0, 15.0, [], id="a run that ends within the grace finishes"),
        pytest.param(100.0, 20.0, ["slow"], id="a run still going at the grace is cancelled"),
    ],
)
async def test_stop_takes_no_new_key_and_gives_running_ones_the_grace(
    clock: FakeClock, queue: Queue, slow: float, stopped_at: float, cancelled: list[str]
) -> None:
    settings = QueueSettings(workers=2, shutdown_grace=20.0)
    reconcile = Reconciler(clock, {"quick": [Step(duration=1.0)], "slow": [Step(duration=slow)]})
    pool = workers.Workers(queue=queue, reconcile=reconcile, settings=settings, clock=clock)
    async with asyncio.TaskGroup() as group:
        run = group.create_task(pool.run())
        for key in ["quick", "slow", "queued"]:
            queue.add(key)
        await clock.advance(0)
        stop = group.create_task(pool.stop())
        await clock.advance(stopped_at - 0.5)
        assert not stop.done()
        await clock.advance(0.5)
        assert stop.done()
        assert run.done()
    assert [key for key, _ in reconcile.calls] == ["quick", "slow"]  # "queued" never started
    assert reconcile.cancelled == cancelled
    assert repr(pool) == "Workers('test', workers=2, running=0, busy=0)"


async def test_stop_before_run_makes_run_return_at_once(
    clock: FakeClock, queue: Queue, settings: QueueSettings
) -> None:
    reconcile = Reconciler(clock)
    pool = workers.Workers(queue=queue, reconcile=reconcile, settings=settings, clock=clock)
    queue.add("a")
    await pool.stop()
    await pool.run()
    assert reconcile.calls == []


def test_result_is_a_frozen_value() -> None:
    result = workers.Result(requeue_after=5.0)
    assert result == workers.Result(5.0)
    assert workers.Result().requeue_after is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.requeue_after = 1.0  # type: ignore[misc]
