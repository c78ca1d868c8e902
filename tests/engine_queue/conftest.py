"""A fake clock, a fresh metrics registry, and a running queue and workers built on them."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from fleet.engine import queueing, ratelimiting, workers
from fleet.structs.clock import Clock
from fleet.structs.settings import QueueSettings
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def settings() -> QueueSettings:
    # Round numbers and no jitter, so that every delay in a test is exact.
    return QueueSettings(workers=4, base_delay=1.0, max_delay=8.0, jitter=0.0)


def sample(registry: CollectorRegistry, metric: str, queue: str = "test") -> float:
    """One sample of a queue's metric; 0 when it has none yet."""
    return registry.get_sample_value(metric, {"name": queue}) or 0.0


def make_queue(
    *, clock: Clock, settings: QueueSettings, registry: CollectorRegistry, name: str = "test"
) -> queueing.WorkQueue[str]:
    return queueing.WorkQueue(
        name=name,
        clock=clock,
        limiter=ratelimiting.from_settings(settings, clock=clock),
        metrics=queueing.QueueMetrics(registry),
    )


@pytest.fixture
async def queue(
    clock: FakeClock, settings: QueueSettings, registry: CollectorRegistry
) -> AsyncIterator[queueing.WorkQueue[str]]:
    async with make_queue(clock=clock, settings=settings, registry=registry) as running:
        yield running


@dataclasses.dataclass
class Step:
    """One scripted call of `Reconciler`: how long it takes on the clock, and its outcome."""

    duration: float = 0.0
    outcome: workers.Result | Exception = dataclasses.field(default_factory=workers.Result)


class Reconciler:
    """A reconcile whose calls are scripted per key (the last step repeats) and recorded.

    It records overlaps instead of asserting inside the reconcile, because the workers
    would catch a failed assertion and retry it like any other error.
    """

    def __init__(self, clock: FakeClock, script: dict[str, list[Step]] | None = None) -> None:
        self.clock = clock
        self.script = script or {}
        self.calls: list[tuple[str, float]] = []
        self.finished: list[tuple[str, float]] = []
        self.cancelled: list[str] = []
        self.running: set[str] = set()
        self.overlaps: list[str] = []
        self.most_at_once = 0

    async def __call__(self, key: str) -> workers.Result:
        if key in self.running:
            self.overlaps.append(key)
        self.running.add(key)
        self.most_at_once = max(self.most_at_once, len(self.running))
        self.calls.append((key, self.clock.now()))
        steps = self.script.get(key, [])
        step = steps.pop(0) if len(steps) > 1 else (steps[0] if steps else Step())
        try:
            await self.clock.sleep(step.duration)
        except asyncio.CancelledError:
            self.cancelled.append(key)
            raise
        finally:
            self.running.discard(key)
        self.finished.append((key, self.clock.now()))
        if isinstance(step.outcome, Exception):
            raise copy.copy(step.outcome)  # a fresh one each time, with no old traceback
        return step.outcome

    def times(self, key: str) -> list[float]:
        return [when for called, when in self.calls if called == key]


@contextlib.asynccontextmanager
async def running(
    clock: FakeClock,
    queue: queueing.WorkQueue[str],
    reconcile: Reconciler,
    settings: QueueSettings,
) -> AsyncIterator[workers.Workers[str]]:
    """Workers running for the block; stopped after it, advancing the clock past the grace."""
    pool = workers.Workers(queue=queue, reconcile=reconcile, settings=settings, clock=clock)
    async with asyncio.TaskGroup() as group:
        group.create_task(pool.run())
        await clock.advance(0)
        try:
            yield pool
        finally:
            stopping = group.create_task(pool.stop())
            await clock.advance(settings.shutdown_grace)
            await stopping
