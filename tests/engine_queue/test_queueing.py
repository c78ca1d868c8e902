"""The work queue: deduplication, dirty-while-processing, delays, rate limiting, shutdown."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from fleet.engine import queueing
from fleet.structs.settings import QueueSettings
from tests.engine_queue.conftest import make_queue
from tests.support.clock import FakeClock

Queue = queueing.WorkQueue[str]


async def take(queue: Queue) -> str:
    key = await queue.get()
    assert not isinstance(key, queueing.ShutDown)
    return key


async def test_a_key_added_many_times_is_queued_once(queue: Queue) -> None:
    for key in ["a", "b", "a", "a", "b", "c"]:
        queue.add(key)
    assert len(queue) == 3
    assert [await take(queue) for _ in range(3)] == ["a", "b", "c"]


async def test_a_key_added_while_processing_waits_then_runs_once_more(queue: Queue) -> None:
    queue.add("a")
    assert await take(queue) == "a"
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0  # not available to another worker while held
    queue.done("a")
    assert len(queue) == 1
    assert await take(queue) == "a"
    queue.done("a")
    assert len(queue) == 0


async def test_done_without_get_is_an_error(queue: Queue) -> None:
    with pytest.raises(ValueError, match="'a' is not being processed"):
        queue.done("a")


async def test_get_waits_for_an_add(clock: FakeClock, queue: Queue) -> None:
    getter = asyncio.create_task(take(queue))
    await clock.advance(0)
    assert not getter.done()
    queue.add("a")
    await clock.advance(0)
    assert getter.done()
    assert getter.result() == "a"


async def test_a_getter_cancelled_after_its_wake_up_passes_the_key_on(
    clock: FakeClock, queue: Queue
) -> None:
    first = asyncio.create_task(take(queue))
    second = asyncio.create_task(take(queue))
    await clock.advance(0)
    queue.add("a")  # wakes the first getter...
    first.cancel()  # ...which is cancelled before it can run
    await clock.advance(0)
    assert first.cancelled()
    assert second.done()
    assert second.result() == "a"


@pytest.mark.parametrize(
    ("delays", "runs"),
    [
        ([5.0, 2.0], [2.0]),  # an earlier delay replaces a later one
        ([2.0, 5.0], [2.0]),  # a later delay does not push back an earlier one
        ([3.0, 3.0], [3.0]),
        ([0.0, 4.0], [0.0, 4.0]),  # no delay: added at once, and a pending delay...
        ([4.0, -1.0], [0.0, 4.0]),  # ...is not cancelled by an immediate add (client-go)
    ],
)
async def test_add_after_keeps_one_pending_add_per_key_and_the_earliest_wins(
    clock: FakeClock, queue: Queue, delays: list[float], runs: list[float]
) -> None:
    for delay in delays:
        queue.add_after("a", delay)
    for due in runs:
        if due:
            await clock.advance(due - clock.now() - 0.5)
            assert len(queue) == 0
        await clock.advance(due - clock.now())
        assert len(queue) == 1
        assert await take(queue) == "a"
        queue.done("a")
    await clock.advance(10)
    assert len(queue) == 0  # a superseded delay adds nothing later


async def test_a_superseded_delay_does_not_release_a_later_one_early(
    clock: FakeClock, queue: Queue
) -> None:
    queue.add_after("a", 5.0)
    queue.add_after("a", 2.0)
    await clock.advance(2)
    assert await take(queue) == "a"
    queue.done("a")
    queue.add_after("a", 10.0)  # due at 12; the superseded entry for 5 is still in the heap
    await clock.advance(9.5)
    assert len(queue) == 0
    await clock.advance(0.5)
    assert len(queue) == 1


async def test_delayed_keys_become_ready_in_due_order(clock: FakeClock, queue: Queue) -> None:
    for key, delay in [("c", 3.0), ("a", 1.0), ("b", 2.0)]:
        queue.add_after(key, delay)
    await clock.advance(0.999)
    assert len(queue) == 0
    await clock.advance(2.001)
    assert [await take(queue) for _ in range(3)] == ["a", "b", "c"]


async def test_delayed_keys_share_one_timer_task(clock: FakeClock, queue: Queue) -> None:
    await clock.advance(0)
    tasks = len(asyncio.all_tasks())
    for n in range(100):
        queue.add_after(f"cluster-{n}", 10.0 + n)
    await clock.advance(0)
    assert len(asyncio.all_tasks()) == tasks
    assert clock.pending == 1  # one deadline: the earliest key's
    assert repr(queue) == "WorkQueue('test', queued=0, processing=0, waiting=100)"


async def test_add_after_needs_a_running_queue(
    clock: FakeClock, settings: QueueSettings, registry: CollectorRegistry
) -> None:
    queue = make_queue(clock=clock, settings=settings, registry=registry)
    with pytest.raises(RuntimeError, match="not running"):
        queue.add_after("a", 1.0)
    async with queue:
        with pytest.raises(RuntimeError, match="entered already"):
            await queue.__aenter__()


async def test_add_rate_limited_backs_off_and_forget_resets(clock: FakeClock, queue: Queue) -> None:
    assert [queue.add_rate_limited("a") for _ in range(3)] == [1.0, 2.0, 4.0]
    assert queue.num_requeues("a") == 3
    await clock.advance(1)
    assert len(queue) == 1  # the earliest of the three pending adds
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    assert queue.add_rate_limited("b") == 1.0


async def test_shutdown_wakes_waiting_getters(clock: FakeClock, queue: Queue) -> None:
    waiting = asyncio.create_task(queue.get())
    await clock.advance(0)
    queue.shutdown()
    assert await waiting is queueing.ShutDown.SHUT_DOWN


async def test_shutdown_hands_out_no_more_keys_but_lets_held_keys_finish(
    clock: FakeClock, queue: Queue
) -> None:
    queue.add("held")
    assert await take(queue) == "held"
    queue.add("queued")
    queue.add_after("delayed", 1.0)
    queue.shutdown()
    assert repr(queue) == "WorkQueue('test', queued=1, processing=1, waiting=0, shut down)"
    assert await queue.get() is queueing.ShutDown.SHUT_DOWN  # although "queued" is queued
    for add in (queue.add, queue.add_rate_limited):
        add("late")
    queue.add_after("late", 1.0)
    queue.done("held")
    await clock.advance(5)
    assert await queue.get() is queueing.ShutDown.SHUT_DOWN
    assert repr(queue) == "WorkQueue('test', queued=1, processing=0, waiting=0, shut down)"


async def test_leaving_the_queue_stops_its_timer_task(
    clock: FakeClock, settings: QueueSettings, registry: CollectorRegistry
) -> None:
    tasks = len(asyncio.all_tasks())
    async with make_queue(clock=clock, settings=settings, registry=registry) as queue:
        queue.add_after("a", 1.0)
        assert len(asyncio.all_tasks()) == tasks + 1
    assert len(asyncio.all_tasks()) == tasks
    assert await queue.get() is queueing.ShutDown.SHUT_DOWN


async def test_repr_counts_queued_processing_and_waiting(queue: Queue) -> None:
    for key in ["a", "b", "c"]:
        queue.add(key)
    await take(queue)
    queue.add_after("d", 5.0)
    assert repr(queue) == "WorkQueue('test', queued=2, processing=1, waiting=1)"
