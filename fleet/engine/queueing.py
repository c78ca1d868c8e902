"""The work queue: which key to reconcile next, never the same key twice at once.

The model is client-go's `workqueue` (queue, delaying queue, rate-limiting queue in
one type), in asyncio. It holds keys (cluster names), never objects: a reconcile
always reads the latest state itself, so ten events about one cluster are one key and
one sync. Three collections carry the rules:

- ``dirty``: keys that need a run. Adding a key that is already dirty does nothing:
  that is the deduplication.
- ``processing``: keys a worker holds, from `get()` to `done()`. A key added while it
  is processing is only marked dirty; `done()` puts it back in line. So no key is
  worked on by two workers at once, and a change during a run is never lost: the key
  runs once more afterwards.
- ``queue``: dirty keys not being processed, in the order they became ready.

Delayed adds (`add_after`, and so `add_rate_limited`) wait in one heap served by one
timer task that the queue owns, not in a task per key: a thousand backing-off clusters
cost a thousand heap entries. A key has at most one pending delay, and the earliest
wins, as in client-go: a retry asked for in 5 ms is not pushed back by a periodic
requeue asked for in 5 min. An immediate `add()` does not cancel a pending delayed one;
that later run is then a harmless extra sync.

`get()` after `shutdown()` returns the `ShutDown` marker (never raises), even if keys
are still queued: on shutdown, workers stop taking keys at once, and level-triggered
reconciling makes the dropped keys run again at the next start.

All time comes from the injected `Clock`; metrics go to the `QueueMetrics` of a
registry that the caller owns (never prometheus' global one).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import heapq
import itertools
from collections.abc import Hashable
from types import TracebackType
from typing import Generic, Self, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fleet.engine import ratelimiting
from fleet.structs.clock import Clock

K = TypeVar("K", bound=Hashable)

DURATION_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds, for waiting in the queue and for one reconcile: a cluster sync takes from
milliseconds (nothing to do) to minutes (waiting for a rollout); a wait in the queue
reaches the five-minute backoff cap. client-go's buckets stop at 10 s."""


class ShutDown(enum.Enum):
    """What `WorkQueue.get()` returns once the queue is shut down.

    A plain `Enum`, not a `StrEnum`: keys are strings, and the marker must never be
    equal to (or an instance of) one.
    """

    SHUT_DOWN = "shut down"


class QueueMetrics:
    """client-go's work queue metric set, on one registry; each queue is one ``name`` label.

    Create it once per registry and pass it to every queue; the gauges are read from
    the queues when the registry is collected, so they are exact at every scrape.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("name",)
        self.depth = Gauge(
            "fleet_workqueue_depth",
            "Keys waiting to be worked on, including those to run again after their current run.",
            labels,
            registry=registry,
        )
        self.adds = Counter(
            "fleet_workqueue_adds",
            "Keys added (not counting duplicates).",
            labels,
            registry=registry,
        )
        self.retries = Counter(
            "fleet_workqueue_retries",
            "Keys re-added after a failure, with rate-limited backoff.",
            labels,
            registry=registry,
        )
        self.queue_duration = Histogram(
            "fleet_workqueue_queue_duration_seconds",
            "Seconds a key waited in the queue, from added to taken by a worker.",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.work_duration = Histogram(
            "fleet_workqueue_work_duration_seconds",
            "Seconds a worker held a key, from taken to done.",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.unfinished_work = Gauge(
            "fleet_workqueue_unfinished_work_seconds",
            "Seconds of work in progress and not yet done, summed over the keys held; "
            "a value that keeps growing means a stuck worker.",
            labels,
            registry=registry,
        )
        self.longest_running_processor = Gauge(
            "fleet_workqueue_longest_running_processor_seconds",
            "Seconds the longest-held key has been held by its worker.",
            labels,
            registry=registry,
        )


class WorkQueue(Generic[K]):
    """A deduplicating, delaying, rate-limited queue of keys; use it with ``async with``.

    Entering starts the timer task that releases delayed keys; leaving shuts the queue
    down and stops that task. `add`, `add_after`, `add_rate_limited`, `forget`, `done`
    and `shutdown` are synchronous: they never wait, so event handlers can call them.
    """

    def __init__(
        self,
        *,
        name: str,
        clock: Clock,
        limiter: ratelimiting.RateLimiter[K],
        metrics: QueueMetrics,
    ) -> None:
        self.name = name
        self._clock = clock
        self._limiter = limiter
        self._queue: collections.deque[K] = collections.deque()
        self._dirty: set[K] = set()
        self._processing: dict[K, float] = {}  # key -> when its worker took it
        self._added: dict[K, float] = {}  # key -> when it became dirty, for queue_duration
        self._waiting: dict[K, float] = {}  # key -> when its delayed add is due
        self._timers: list[tuple[float, int, K]] = []  # heap of (due, tie-breaker, key)
        self._sequence = itertools.count()
        self._timers_changed = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._shut_down = False

        self._adds = metrics.adds.labels(name)
        self._retries = metrics.retries.labels(name)
        self._queue_duration = metrics.queue_duration.labels(name)
        self._work_duration = metrics.work_duration.labels(name)
        metrics.depth.labels(name).set_function(lambda: len(self._dirty))
        metrics.unfinished_work.labels(name).set_function(self._unfinished_work)
        metrics.longest_running_processor.labels(name).set_function(self._longest_running)

    async def __aenter__(self) -> Self:
        if self._timer_task is not None:
            raise RuntimeError(f"{self!r} was entered already; a queue runs once")
        self._timer_task = asyncio.create_task(
            self._release_waiting(), name=f"workqueue {self.name} timer"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task

    def add(self, key: K) -> None:
        """Mark ``key`` as needing a run; a key already waiting is not added twice."""
        if self._shut_down or key in self._dirty:
            return
        self._adds.inc()
        self._dirty.add(key)
        self._added[key] = self._clock.now()
        if key in self._processing:
            return  # `done()` puts it in line, so that it never runs on two workers
        self._queue.append(key)
        self._wake_one_getter()

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed; an earlier pending add wins."""
        if self._shut_down:
            return
        if delay <= 0:
            self.add(key)
            return
        if self._timer_task is None:
            raise RuntimeError(f"{self!r} is not running: enter it with `async with` first")
        due = self._clock.now() + delay
        pending = self._waiting.get(key)
        if pending is not None and pending <= due:
            return
        self._waiting[key] = due
        sequence = next(self._sequence)
        heapq.heappush(self._timers, (due, sequence, key))
        if self._timers[0][1] == sequence:
            self._timers_changed.set()  # the timer task sleeps until a later time: wake it

    def add_rate_limited(self, key: K) -> float:
        """Add ``key`` after the delay its rate limiter gives (a failure); return that delay."""
        delay = self._limiter.when(key)
        self._retries.inc()
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset the rate limiter's memory of ``key``'s failures (it succeeded, or gave up)."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """How many failures of ``key`` in a row the rate limiter is counting."""
        return self._limiter.num_requeues(key)

    async def get(self) -> K | ShutDown:
        """Wait for a key and hold it until `done()`; `ShutDown.SHUT_DOWN` once shut down."""
        while not self._shut_down:
            if self._queue:
                key = self._queue.popleft()
                self._dirty.discard(key)
                now = self._clock.now()
                self._processing[key] = now
                self._queue_duration.observe(now - self._added.pop(key))
                return key
            waiter = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                with contextlib.suppress(ValueError):
                    self._getters.remove(waiter)
                if waiter.done() and not waiter.cancelled():
                    self._wake_one_getter()  # pass on the wake-up this getter will not use
                raise
        return ShutDown.SHUT_DOWN

    def done(self, key: K) -> None:
        """Release ``key`` after its run; if it was added meanwhile, it goes back in line."""
        try:
            taken = self._processing.pop(key)
        except KeyError:
            raise ValueError(f"{key!r} is not being processed by {self!r}") from None
        self._work_duration.observe(self._clock.now() - taken)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one_getter()

    def shutdown(self) -> None:
        """Stop: adds are ignored, delayed keys dropped, and every `get()` returns `ShutDown`.

        Keys being processed stay held until their `done()`, which still works.
        """
        self._shut_down = True
        self._waiting.clear()
        self._timers.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def __len__(self) -> int:
        """Keys ready to be taken now (not those processing or delayed)."""
        return len(self._queue)

    def __repr__(self) -> str:
        state = ", shut down" if self._shut_down else ""
        return (
            f"WorkQueue({self.name!r}, queued={len(self._queue)}, "
            f"processing={len(self._processing)}, waiting={len(self._waiting)}{state})"
        )

    def _wake_one_getter(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _release_waiting(self) -> None:
        """The one timer task: add each delayed key when it falls due."""
        while True:
            self._timers_changed.clear()
            now = self._clock.now()
            while self._timers and self._timers[0][0] <= now:
                due, _, key = heapq.heappop(self._timers)
                # An entry superseded by an earlier add_after is left in the heap; skip it.
                if self._waiting.get(key) == due:
                    del self._waiting[key]
                    self.add(key)
            if not self._timers:
                await self._timers_changed.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with self._clock.timeout(self._timers[0][0] - now):
                    await self._timers_changed.wait()

    def _unfinished_work(self) -> float:
        now = self._clock.now()
        # A copy in one step: a scrape may run in another thread (prometheus_client's server).
        return sum(now - taken for taken in list(self._processing.values()))

    def _longest_running(self) -> float:
        taken = list(self._processing.values())
        return self._clock.now() - min(taken) if taken else 0.0
