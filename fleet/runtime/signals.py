"""Signals: how a running fleet is told to stop, or to read its inventory again.

SIGTERM (what Kubernetes sends) and SIGINT (Ctrl-C) ask for a graceful stop: `Stop`
resolves and the runtime drains (see `fleet.runtime.running`). A second one while
draining means "now": the process exits at once with status 1, since whoever sent it
has decided that waiting is worse than an interrupted sync (the next start picks up
from the cluster's own state, so nothing is lost but the sync in flight). SIGHUP reloads
the inventory, as the file follower would after a change.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

logger = logging.getLogger(__name__)

STOPPING = (signal.SIGTERM, signal.SIGINT)


class Stop:
    """Awaitable until the first stop signal; the second one ends the process."""

    def __init__(self, *, on_reload: Callable[[], None] | None = None) -> None:
        self._stopping = asyncio.Event()
        self._on_reload = on_reload
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> Stop:
        loop = asyncio.get_running_loop()
        for signum in STOPPING:
            loop.add_signal_handler(signum, self._stop, signum)
            self._installed.append(signum)
        if self._on_reload is not None:
            loop.add_signal_handler(signal.SIGHUP, self._on_reload)
            self._installed.append(signal.SIGHUP)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._installed:
            loop.remove_signal_handler(signum)
        self._installed.clear()

    def _stop(self, signum: signal.Signals) -> None:
        if self._stopping.is_set():
            logger.warning("%s again: exiting now", signum.name)
            os._exit(1)
        logger.info("%s: stopping; running syncs may finish (send it again to exit now)",
                    signum.name)  # fmt: skip
        self._stopping.set()

    def stop(self) -> None:
        """Stop as a signal would (for callers that decide by themselves, like the demo)."""
        self._stopping.set()

    async def wait(self) -> None:
        await self._stopping.wait()

    def __repr__(self) -> str:
        return f"Stop({'stopping' if self._stopping.is_set() else 'running'})"
