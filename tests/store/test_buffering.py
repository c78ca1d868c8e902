"""The write-behind buffer: retried batches keep their place, overflow drops the oldest, loudly."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from fleet.store import buffering, metering
from fleet.structs import history as h
from tests.store import records
from tests.store.conftest import NOW


def _syncs(count: int) -> list[h.SyncRecord]:
    return [records.sync(at=NOW + timedelta(seconds=n)) for n in range(count)]


def _buffer(registry: CollectorRegistry, capacity: int) -> buffering.WriteBuffer:
    return buffering.WriteBuffer(capacity=capacity, metrics=metering.HistoryMetrics(registry))


def _dropped(registry: CollectorRegistry, reason: metering.DropReason) -> float | None:
    return registry.get_sample_value("fleet_history_rows_dropped_total", {"reason": reason})


def test_a_failed_batch_goes_back_to_the_front_in_order(registry: CollectorRegistry) -> None:
    rows = _syncs(5)
    buffer = _buffer(registry, capacity=10)
    for row in rows:
        buffer.add(row)
    assert buffer.take(3) == rows[:3]
    buffer.failed()
    assert buffer.take(10) == rows
    buffer.written()
    assert (len(buffer), buffer.added, buffer.settled) == (0, 5, 5)
    assert registry.get_sample_value("fleet_history_buffer_rows") == 0


def test_overflow_drops_the_oldest_counts_them_and_logs_once_per_episode(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _syncs(1000)
    buffer = _buffer(registry, capacity=100)
    with caplog.at_level(logging.WARNING, logger="fleet.store"):
        for row in rows:
            buffer.add(row)
        overflowing = [buffer.overflowing]
        assert buffer.take(1000) == rows[-100:]
        buffer.written()
        overflowing.append(buffer.overflowing)
    assert overflowing == [True, False]
    assert buffer.dropped == 900
    assert _dropped(registry, metering.DropReason.OVERFLOW) == 900
    assert [record.getMessage() for record in caplog.records] == [
        "history buffer is full (100 rows): dropping the oldest rows until the database"
        " catches up; metric fleet_history_rows_dropped_total counts them",
        "history buffer has room again; 900 rows were dropped while it was full",
    ]


def test_a_batch_that_fails_while_the_buffer_filled_up_is_dropped_first(
    registry: CollectorRegistry,
) -> None:
    rows = _syncs(6)
    buffer = _buffer(registry, capacity=4)
    for row in rows[:4]:
        buffer.add(row)
    assert buffer.take(2) == rows[:2]
    for row in rows[4:]:
        buffer.add(row)  # room: the two in flight do not count against the queue
    buffer.failed()
    assert buffer.dropped == 2
    assert buffer.take(10) == rows[2:]


def test_a_rejected_batch_is_dropped_and_counted(registry: CollectorRegistry) -> None:
    rows = _syncs(3)
    buffer = _buffer(registry, capacity=10)
    for row in rows:
        buffer.add(row)
    buffer.take(2)
    assert buffer.rejected() == rows[:2]
    assert _dropped(registry, metering.DropReason.REJECTED) == 2
    assert buffer.take(10) == rows[2:]


def test_abandon_drops_everything_left(registry: CollectorRegistry) -> None:
    buffer = _buffer(registry, capacity=10)
    for row in _syncs(3):
        buffer.add(row)
    buffer.take(1)
    assert buffer.abandon() == 3
    assert len(buffer) == 0
    assert buffer.settled == buffer.added
    assert _dropped(registry, metering.DropReason.SHUTDOWN) == 3


def test_only_one_batch_may_be_in_flight(registry: CollectorRegistry) -> None:
    buffer = _buffer(registry, capacity=10)
    buffer.add(records.sync(at=NOW))
    buffer.take(1)
    with pytest.raises(RuntimeError, match="already in flight"):
        buffer.take(1)


def test_repr_shows_depth_and_drops(registry: CollectorRegistry) -> None:
    buffer = _buffer(registry, capacity=2)
    for row in _syncs(3):
        buffer.add(row)
    buffer.take(1)
    assert repr(buffer) == "<WriteBuffer queued=1/2 in_flight=1 dropped=1>"
