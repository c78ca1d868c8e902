"""The history store's Prometheus metrics, on a registry that the caller owns.

The registry is passed in, never the process-wide default, so that two stores in one test
process (or a benchmark next to the controller) do not collide, and so that `/metrics`
shows exactly what the runtime registered. Every label value is created up front: a drop
counter that only appears after the first drop cannot be alerted on with ``rate()``.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fleet.store import paging


class DropReason(StrEnum):
    """Why rows were lost instead of written."""

    OVERFLOW = "overflow"  # the buffer was full while the database was slow or away
    REJECTED = "rejected"  # the database refused the batch's data; retrying cannot help
    SHUTDOWN = "shutdown"  # still buffered when shutdown's time was up


class BatchResult(StrEnum):
    WRITTEN = "written"
    FAILED = "failed"  # will be retried
    REJECTED = "rejected"


class HistoryMetrics:
    """Rows written and dropped, buffer depth, write batches and their latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows_written = Counter(
            "fleet_history_rows_written",
            "History rows confirmed written, by table (a retried batch counts when confirmed).",
            ["table"],
            registry=registry,
        )
        self.rows_deleted = Counter(
            "fleet_history_rows_deleted",
            "History rows deleted by retention, by table.",
            ["table"],
            registry=registry,
        )
        self.rows_dropped = Counter(
            "fleet_history_rows_dropped",
            "History rows lost instead of written, by reason.",
            ["reason"],
            registry=registry,
        )
        self.buffered = Gauge(
            "fleet_history_buffer_rows",
            "History rows waiting to be written.",
            registry=registry,
        )
        self.batches = Counter(
            "fleet_history_write_batches",
            "History write batches, by result.",
            ["result"],
            registry=registry,
        )
        self.write_seconds = Histogram(
            "fleet_history_write_duration_seconds",
            "Time to write one batch of history rows.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=registry,
        )
        for table in paging.Table:
            self.rows_written.labels(table)
            self.rows_deleted.labels(table)
        for reason in DropReason:
            self.rows_dropped.labels(reason)
        for result in BatchResult:
            self.batches.labels(result)
