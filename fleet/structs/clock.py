"""Time as the engine sees it: a `Clock` protocol, and the system clock behind it.

Everything in fleet that waits, backs off, times out or measures a duration asks a
`Clock` instead of `time` or `asyncio` directly. Production code gets `SystemClock`;
tests get the fake clock in `tests/support/clock.py`, whose time moves only when a test
says so. That is what lets backoff sequences, requeue delays, token buckets and
timeouts be tested exactly and instantly, with no sleeps and no timing assertions.

Four verbs are enough for every user: `now()` (monotonic seconds, for intervals),
`utcnow()` (wall time, for what people and databases read), `sleep()`, and
`timeout()` -- a deadline on a block of code, which the engine needs for reconcile
timeouts and for waits that a wake-up may cut short. `timeout()` is part of the
protocol (rather than a helper racing `sleep()` against the work in extra tasks) so
that the system clock can hand it straight to `asyncio.timeout`, at no cost per call.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Clock(Protocol):
    """A source of time that can also wait."""

    def now(self) -> float:
        """Monotonic seconds: only differences between two readings mean anything."""
        ...

    def utcnow(self) -> datetime.datetime:
        """Wall-clock time, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` have passed on this clock (at once if ``seconds <= 0``)."""
        ...

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[object]:
        """Cancel the enclosed block after ``seconds`` and raise `TimeoutError` instead.

        Same contract as `asyncio.timeout`: a block that finishes in time is untouched,
        a cancellation from outside is not turned into a `TimeoutError`.
        """
        ...


class SystemClock:
    """The real clock: `time.monotonic` (the event loop's own time) and the system's UTC."""

    def now(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[object]:
        return asyncio.timeout(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
