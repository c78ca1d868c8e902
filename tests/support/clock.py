"""A fake `Clock` whose time moves only when a test calls `advance()`.

Tests of anything time-based (backoff, requeue delays, token buckets, timeouts,
reconnects) use it instead of sleeping, so they are exact, instant and never flaky:

    clock = FakeClock()
    task = asyncio.create_task(something_that_sleeps(clock))
    await clock.advance(5)      # every sleep and deadline due within 5 s fires, in order

Two guarantees make it solid for other features' tests:

- Due order. Sleepers and deadlines fire one due time at a time, earliest first (ties
  in the order they were registered), and `now()` reads exactly that due time while
  the woken code runs. A sleep registered by woken code that falls due within the
  same `advance()` fires in that same call.
- Settling. After each due time, `advance()` lets the event loop run until every task
  is blocked again (on the clock, an event, I/O...), so that when it returns, the
  woken code has done all it can. It finds that point by watching the loop's queue of
  ready callbacks -- a private attribute of asyncio's event loops, used here because
  no public API says "every task is waiting". A task that never stops being ready
  (a busy loop) makes `advance()` raise instead of hanging.

A sleep or deadline that is due now (zero seconds, or a due time already reached)
fires at the next `advance()`, including ``advance(0)``, which is also the way to say
"let every task run until it waits".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import heapq
import itertools
from collections.abc import AsyncIterator, Callable

SETTLE_LIMIT = 10_000
"""Loop iterations `advance()` allows tasks to keep running before it calls it a busy loop."""

START = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
"""Wall time at ``now() == 0``: a fixed date, so that tests may assert timestamps."""


@dataclasses.dataclass(order=True, slots=True)
class _Timer:
    due: float
    seq: int
    fire: Callable[[], None] = dataclasses.field(compare=False)
    cancelled: bool = dataclasses.field(default=False, compare=False)


class FakeClock:
    """Implements `fleet.structs.clock.Clock`; time starts at 0 and moves by `advance()`."""

    def __init__(self) -> None:
        self._now = 0.0
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def utcnow(self) -> datetime.datetime:
        return START + datetime.timedelta(seconds=self._now)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # still a point where other tasks may run, as asyncio's
            return
        woken = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        timer = self._schedule(seconds, wake)
        try:
            await woken
        finally:
            timer.cancelled = True

    @contextlib.asynccontextmanager
    async def timeout(self, seconds: float) -> AsyncIterator[None]:
        # The same mechanism as asyncio.timeout: on expiry, cancel the task; on the way
        # out, turn that one cancellation (and only that one) into a TimeoutError.
        task = asyncio.current_task()
        assert task is not None, "FakeClock.timeout() needs to run inside a task"
        cancelling = task.cancelling()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        timer = self._schedule(seconds, expire)
        try:
            yield
        except asyncio.CancelledError:
            if expired and task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        finally:
            timer.cancelled = True

    @property
    def pending(self) -> int:
        """How many sleeps and deadlines are waiting for their time."""
        return sum(not timer.cancelled for timer in self._timers)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing what falls due, and let woken tasks run."""
        if seconds < 0:
            raise ValueError(f"time cannot go back ({seconds} s)")
        target = self._now + seconds
        await self._settle()
        while self._timers and self._timers[0].due <= target:
            self._now = due = self._timers[0].due
            while self._timers and self._timers[0].due == due:
                timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    timer.fire()
            await self._settle()
        self._now = target

    def _schedule(self, seconds: float, fire: Callable[[], None]) -> _Timer:
        timer = _Timer(due=self._now + max(seconds, 0.0), seq=next(self._seq), fire=fire)
        heapq.heappush(self._timers, timer)
        return timer

    async def _settle(self) -> None:
        ready = asyncio.get_running_loop()._ready  # type: ignore[attr-defined]
        for _ in range(SETTLE_LIMIT):
            # Our own wake-up queues behind every callback ready now; when it comes and
            # nothing new has been queued behind it, every other task is blocked.
            await asyncio.sleep(0)
            if not ready:
                return
        raise RuntimeError(f"tasks still running after {SETTLE_LIMIT} loop iterations")

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now:g}, pending={self.pending})"
