"""Delayed work owned by one virtual cluster: at most one pending timer per key.

The emulated controllers (a Deployment becoming ready, a namespace finishing its
termination) act some time after a write. A task per object that sleeps would cost a
task for each of 20,000 objects and would need its own owner; a loop timer
(`call_later`) costs nothing until it fires, a newer write to the same object simply
replaces it, and `close()` cancels whatever is pending when the cluster shuts down.
Callbacks are synchronous: they run the cluster's write path, which never awaits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

_log = logging.getLogger(__name__)


class Timers:
    """Keyed one-shot timers on the running event loop."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._pending: dict[Hashable, asyncio.TimerHandle] = {}

    def schedule(self, key: Hashable, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` after `delay` seconds, replacing any timer pending for `key`."""
        self.cancel(key)
        loop = asyncio.get_running_loop()
        self._pending[key] = loop.call_later(max(delay, 0.0), self._fire, key, callback)

    def _fire(self, key: Hashable, callback: Callable[[], None]) -> None:
        self._pending.pop(key, None)
        try:
            callback()
        except Exception:  # noqa: BLE001 - a bug in one emulated controller must not stop the others
            _log.exception("timer %r of %s failed", key, self._owner)

    def cancel(self, key: Hashable) -> None:
        handle = self._pending.pop(key, None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending)

    def __repr__(self) -> str:
        return f"Timers({self._owner}, {len(self._pending)} pending)"
