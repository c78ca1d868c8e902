"""Workers: a fixed number of tasks that take keys from a work queue and reconcile them.

The model is controller-runtime's controller loop. A reconcile is an async function of
a key that returns a `Result`; it never sleeps to wait for something, it returns
``Result(requeue_after=...)`` and frees its worker. What happens next is decided here,
in one place, for every kind of key:

- success: the key's failures are forgotten; with ``requeue_after`` it runs again then.
- `errors.TerminalError`: retrying cannot help, so the failures are forgotten and the
  key is not requeued; it runs again only when something outside adds it (new input).
- any other exception, or running past ``reconcile_timeout``: a failure; the key is
  re-added through the rate limiter, so it backs off exponentially up to the cap. A
  `errors.FleetError` is an expected failure and is logged as one line; anything else
  is a bug and is logged with its traceback.

A worker survives whatever its reconcile raises: the error is logged with the key and
the loop goes on, because one broken cluster must never stop the others. The queue
guarantees that no key is reconciled by two workers at once.

Stopping is graceful: `stop()` shuts the queue so that no worker takes a new key, gives
the reconciles in flight ``shutdown_grace`` seconds to finish, then cancels them. The
workers are tasks of one `asyncio.TaskGroup` inside `run()`, so whoever awaits
`run()` owns them. Timeouts and the grace period run on the injected `Clock`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from fleet.engine import queueing
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.settings import QueueSettings

K = TypeVar("K", bound=Hashable)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """How a reconcile that did not fail wants its key treated next."""

    requeue_after: float | None = None
    """Seconds after which to run the key again even if nothing changes (to check on a
    rollout, or a periodic resync); `None`: only when something adds it again."""


class Workers(Generic[K]):
    """``settings.workers`` tasks that reconcile the keys of one queue; see the module doc."""

    def __init__(
        self,
        *,
        queue: queueing.WorkQueue[K],
        reconcile: Callable[[K], Awaitable[Result]],
        settings: QueueSettings,
        clock: Clock,
    ) -> None:
        self._queue = queue
        self._reconcile = reconcile
        self._settings = settings
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0

    async def run(self) -> None:
        """Run the workers; return once all have stopped (after `stop()` or queue shutdown)."""
        async with asyncio.TaskGroup() as group:
            self._tasks = [
                group.create_task(self._work(), name=f"workqueue {self._queue.name} worker {n}")
                for n in range(self._settings.workers)
            ]

    async def stop(self) -> None:
        """Take no new keys; let running reconciles finish within the grace, then cancel them."""
        self._queue.shutdown()
        if not self._tasks:
            return
        try:
            async with self._clock.timeout(self._settings.shutdown_grace):
                await asyncio.wait(self._tasks)
        except TimeoutError:
            logger.warning(
                "%d reconciles of %s still running after %g s; cancelling them",
                self._busy,
                self._queue.name,
                self._settings.shutdown_grace,
            )
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(self._tasks)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            if isinstance(key, queueing.ShutDown):
                return
            self._busy += 1
            try:
                await self._process(key)
            finally:
                self._busy -= 1
                self._queue.done(key)

    async def _process(self, key: K) -> None:
        try:
            async with self._clock.timeout(self._settings.reconcile_timeout):
                result = await self._reconcile(key)
        except errors.TerminalError as error:
            self._queue.forget(key)
            logger.error("reconcile of %s failed, not retrying until it changes: %s", key, error)
            return
        except errors.FleetError as error:
            # Expected failures (a cluster down, an object refused) were reported by the
            # reconcile; one line is enough, a traceback would only bury it.
            delay = self._queue.add_rate_limited(key)
            logger.warning(
                "reconcile of %s failed (%d in a row); retrying in %.3g s: %s",
                key,
                self._queue.num_requeues(key),
                delay,
                error,
            )
            return
        except Exception:
            delay = self._queue.add_rate_limited(key)
            logger.exception(
                "reconcile of %s failed (%d in a row); retrying in %.3g s",
                key,
                self._queue.num_requeues(key),
                delay,
            )
            return
        self._queue.forget(key)
        if result.requeue_after is not None:
            self._queue.add_after(key, result.requeue_after)

    def __repr__(self) -> str:
        return (
            f"Workers({self._queue.name!r}, workers={self._settings.workers}, "
            f"running={len(self._tasks) - sum(t.done() for t in self._tasks)}, busy={self._busy})"
        )
