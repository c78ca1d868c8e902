"""The client-go work queue metric set, read back from the registry each queue was given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from fleet.engine import queueing, ratelimiting
from fleet.structs.settings import QueueSettings
from tests.engine_queue.conftest import sample
from tests.support.clock import FakeClock


async def test_adds_and_depth_count_keys_not_duplicates(
    queue: queueing.WorkQueue[str], registry: CollectorRegistry
) -> None:
    for key in ["a", "b", "a"]:
        queue.add(key)
    assert sample(registry, "fleet_workqueue_adds_total") == 2
    assert sample(registry, "fleet_workqueue_depth") == 2
    await queue.get()
    assert sample(registry, "fleet_workqueue_depth") == 1
    queue.add("a")  # dirty while processing: still waiting to be worked on
    assert sample(registry, "fleet_workqueue_depth") == 2
    assert sample(registry, "fleet_workqueue_adds_total") == 3


async def test_queue_and_work_durations_are_measured_on_the_clock(
    clock: FakeClock, queue: queueing.WorkQueue[str], registry: CollectorRegistry
) -> None:
    queue.add("a")
    await clock.advance(3)
    await queue.get()
    await clock.advance(2)
    queue.done("a")
    assert sample(registry, "fleet_workqueue_queue_duration_seconds_sum") == 3
    assert sample(registry, "fleet_workqueue_queue_duration_seconds_count") == 1
    assert sample(registry, "fleet_workqueue_work_duration_seconds_sum") == 2
    assert sample(registry, "fleet_workqueue_work_duration_seconds_count") == 1


async def test_unfinished_work_and_longest_running_processor_are_read_at_scrape_time(
    clock: FakeClock, queue: queueing.WorkQueue[str], registry: CollectorRegistry
) -> None:
    assert sample(registry, "fleet_workqueue_longest_running_processor_seconds") == 0
    queue.add("a")
    await queue.get()
    await clock.advance(1)
    queue.add("b")
    await queue.get()
    await clock.advance(2)
    assert sample(registry, "fleet_workqueue_unfinished_work_seconds") == 3 + 2
    assert sample(registry, "fleet_workqueue_longest_running_processor_seconds") == 3
    queue.done("a")
    assert sample(registry, "fleet_workqueue_unfinished_work_seconds") == 2
    assert sample(registry, "fleet_workqueue_longest_running_processor_seconds") == 2


async def test_retries_count_rate_limited_adds_only(
    queue: queueing.WorkQueue[str], registry: CollectorRegistry
) -> None:
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")
    queue.add_after("b", 5.0)
    assert sample(registry, "fleet_workqueue_retries_total") == 2


async def test_queues_sharing_a_registry_are_told_apart_by_name(
    clock: FakeClock, settings: QueueSettings
) -> None:
    registry = CollectorRegistry()
    metrics = queueing.QueueMetrics(registry)
    limiter: ratelimiting.MaxOf[str] = ratelimiting.from_settings(settings, clock=clock)
    clusters = queueing.WorkQueue(name="clusters", clock=clock, limiter=limiter, metrics=metrics)
    sources = queueing.WorkQueue(name="sources", clock=clock, limiter=limiter, metrics=metrics)
    clusters.add("a")
    clusters.add("b")
    sources.add("a")
    assert sample(registry, "fleet_workqueue_depth", "clusters") == 2
    assert sample(registry, "fleet_workqueue_depth", "sources") == 1
    assert sample(registry, "fleet_workqueue_adds_total", "sources") == 1
