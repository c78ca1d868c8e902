"""The fake clock other features' tests rely on, and the system clock behind the protocol."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from fleet.structs.clock import Clock, SystemClock
from tests.support.clock import START, FakeClock

CLOCKS: list[Clock] = [SystemClock(), FakeClock()]  # both satisfy the protocol (mypy checks)


async def test_sleepers_wake_in_due_order_then_in_registration_order(clock: FakeClock) -> None:
    woken: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append((name, clock.now()))

    async with asyncio.TaskGroup() as group:
        for name, seconds in [("c", 3.0), ("a", 1.0), ("b1", 2.0), ("b2", 2.0)]:
            group.create_task(sleeper(name, seconds))
        await clock.advance(0)
        assert clock.pending == 4
        await clock.advance(2.5)
        assert woken == [("a", 1.0), ("b1", 2.0), ("b2", 2.0)]
        assert clock.now() == 2.5
        await clock.advance(0.5)
    assert woken[-1] == ("c", 3.0)
    assert clock.pending == 0


async def test_sleeps_started_by_woken_code_fire_within_the_same_advance(clock: FakeClock) -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(3):
            await clock.sleep(1)
            ticks.append(clock.now())

    task = asyncio.create_task(ticker())
    await clock.advance(2.5)
    assert ticks == [1.0, 2.0]
    await clock.advance(0.5)
    assert ticks == [1.0, 2.0, 3.0]
    assert task.done()


async def test_advance_lets_a_chain_of_woken_tasks_run_to_the_end(clock: FakeClock) -> None:
    first, second = asyncio.Event(), asyncio.Event()
    reached: list[str] = []

    async def relay(wait_for: asyncio.Event, then: asyncio.Event, name: str) -> None:
        await wait_for.wait()
        await asyncio.sleep(0)
        reached.append(name)
        then.set()

    async def starter() -> None:
        await clock.sleep(1)
        first.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(starter())
        group.create_task(relay(first, second, "first"))
        group.create_task(relay(second, asyncio.Event(), "second"))
        await clock.advance(1)
        assert reached == ["first", "second"]


async def test_a_cancelled_sleep_is_no_longer_pending(clock: FakeClock) -> None:
    task = asyncio.create_task(clock.sleep(5))
    await clock.advance(0)
    assert clock.pending == 1
    task.cancel()
    await clock.advance(0)
    assert task.cancelled()
    assert clock.pending == 0


async def test_sleep_of_zero_or_less_returns_without_advancing(clock: FakeClock) -> None:
    await clock.sleep(0)
    await clock.sleep(-1)
    assert clock.now() == 0
    assert clock.pending == 0


async def test_timeout_raises_at_its_deadline(clock: FakeClock) -> None:
    async def slow() -> float:
        async with clock.timeout(3):
            await clock.sleep(10)
        return clock.now()

    task = asyncio.create_task(slow())
    await clock.advance(2.9)
    assert not task.done()
    await clock.advance(0.1)
    with pytest.raises(TimeoutError):
        await task
    assert clock.now() == 3
    assert clock.pending == 0


async def test_timeout_leaves_a_block_that_finishes_in_time_alone(clock: FakeClock) -> None:
    async def quick() -> str:
        async with clock.timeout(3):
            await clock.sleep(1)
        await clock.sleep(5)  # past the deadline, outside the block: no late cancellation
        return "done"

    task = asyncio.create_task(quick())
    await clock.advance(10)
    assert await task == "done"
    assert clock.pending == 0


async def test_timeout_does_not_turn_an_outside_cancellation_into_timeout_error(
    clock: FakeClock,
) -> None:
    async def guarded() -> None:
        async with clock.timeout(3):
            await clock.sleep(10)

    task = asyncio.create_task(guarded())
    await clock.advance(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending == 0


async def test_advance_refuses_to_go_back(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        await clock.advance(-1)


async def test_advance_reports_a_busy_loop_instead_of_hanging(clock: FakeClock) -> None:
    spins = 0

    async def spin() -> None:
        nonlocal spins
        while True:  # a task that polls instead of waiting
            spins += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(spin())
    with pytest.raises(RuntimeError, match="still running"):
        await clock.advance(1)
    assert spins > 1000
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_wall_time_moves_with_the_clock(clock: FakeClock) -> None:
    await clock.advance(90)
    assert clock.utcnow() == START + datetime.timedelta(seconds=90)
    assert clock.utcnow().tzinfo is datetime.UTC


async def test_fake_clock_repr(clock: FakeClock) -> None:
    task = asyncio.create_task(clock.sleep(5))
    await clock.advance(1.5)
    assert repr(clock) == "FakeClock(now=1.5, pending=1)"
    await clock.advance(5)
    await task


@pytest.mark.parametrize("clock_under_test", CLOCKS, ids=["system", "fake"])
async def test_wall_time_is_aware_utc(clock_under_test: Clock) -> None:
    assert clock_under_test.utcnow().utcoffset() == datetime.timedelta(0)


async def test_system_clock_uses_the_event_loops_time_and_timeout() -> None:
    clock = SystemClock()
    before = asyncio.get_running_loop().time()
    assert clock.now() >= before
    assert isinstance(clock.timeout(60), asyncio.Timeout)
    async with clock.timeout(60):
        await clock.sleep(0)
    assert repr(clock) == "SystemClock()"
