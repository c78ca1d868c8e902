"""The clock the mirrors poll and back off on, injected so tests can drive time.

This has the shape of `fleet.structs.clock.Clock` (monotonic `now`, aware `utcnow`,
`async sleep`), which another part of fleet is adding; until it lands, the mirrors
declare the protocol they need here. When it exists, this module should become a
re-export of it (or disappear), with no change to the code that takes a clock.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds: for intervals and backoff."""

    def utcnow(self) -> datetime:
        """Wall-clock time, timezone-aware: for what people read (last success, ...)."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
