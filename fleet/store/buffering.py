"""The write-behind buffer: rows wait here until the database takes them.

Recording a sync must never wait for the database, so rows go into this bounded queue and a
background writer takes them out in batches. The buffer is plain synchronous state with no
I/O, like httpcore's state machines, so every rule below is tested without a database:

- A batch being written is *in flight*: taken out of the queue but not yet settled. If the
  write fails, the batch goes back to the front, oldest first, to be retried. Retrying is
  safe because every row has its own id and the database ignores ids it already has.
- The queue never holds more than ``capacity`` rows. Past that the *oldest* rows are
  dropped (recent history is worth more than old), counted in a metric, and logged once
  when an overflow episode begins and once when it ends -- never once per row, which
  would flood the log exactly when the database is already in trouble.
- Counting rows added and rows settled (written or dropped) lets `flush` wait for "every
  row recorded so far" without a list of waiters.
"""

from __future__ import annotations

import logging
from collections import deque

from fleet.store import metering, paging

logger = logging.getLogger("fleet.store")


class WriteBuffer:
    """Rows waiting to be written, oldest first, at most ``capacity`` of them queued."""

    def __init__(self, *, capacity: int, metrics: metering.HistoryMetrics) -> None:
        self._capacity = capacity
        self._metrics = metrics
        self._queued: deque[paging.Record] = deque()
        self._in_flight: list[paging.Record] = []
        self._episode_dropped: int | None = None  # rows dropped in the current overflow
        self.added = 0
        self.settled = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queued) + len(self._in_flight)

    def __repr__(self) -> str:
        return (
            f"<WriteBuffer queued={len(self._queued)}/{self._capacity}"
            f" in_flight={len(self._in_flight)} dropped={self.dropped}>"
        )

    @property
    def overflowing(self) -> bool:
        return self._episode_dropped is not None

    def add(self, row: paging.Record) -> None:
        self._queued.append(row)
        self.added += 1
        self._trim()
        self._metrics.buffered.set(len(self))

    def take(self, limit: int) -> list[paging.Record]:
        """Up to ``limit`` oldest rows, in flight until `written`, `failed` or `rejected`."""
        if self._in_flight:
            raise RuntimeError("a batch is already in flight")
        while self._queued and len(self._in_flight) < limit:
            self._in_flight.append(self._queued.popleft())
        return list(self._in_flight)

    def written(self) -> None:
        """The batch in flight is in the database; an overflow episode, if any, is over."""
        self.settled += len(self._in_flight)
        self._in_flight.clear()
        self._metrics.buffered.set(len(self))
        if self._episode_dropped is not None and len(self._queued) < self._capacity:
            logger.warning(
                "history buffer has room again; %d rows were dropped while it was full",
                self._episode_dropped,
            )
            self._episode_dropped = None

    def failed(self) -> None:
        """The batch in flight was not written: it goes back to the front, to be retried."""
        self._queued.extendleft(reversed(self._in_flight))
        self._in_flight.clear()
        self._trim()
        self._metrics.buffered.set(len(self))

    def rejected(self) -> list[paging.Record]:
        """The database refused the batch in flight; it is dropped and returned for the log."""
        batch = list(self._in_flight)
        self._in_flight.clear()
        self._drop(len(batch), metering.DropReason.REJECTED)
        self._metrics.buffered.set(len(self))
        return batch

    def abandon(self) -> int:
        """Drop everything (shutdown ran out of time); returns how many rows that was."""
        self._queued.extend(self._in_flight)
        self._in_flight.clear()
        count = len(self._queued)
        self._queued.clear()
        self._drop(count, metering.DropReason.SHUTDOWN)
        self._metrics.buffered.set(0)
        return count

    def _trim(self) -> None:
        excess = len(self._queued) - self._capacity
        if excess <= 0:
            return
        for _ in range(excess):
            self._queued.popleft()
        if self._episode_dropped is None:
            self._episode_dropped = 0
            logger.warning(
                "history buffer is full (%d rows): dropping the oldest rows until the"
                " database catches up; metric fleet_history_rows_dropped_total counts them",
                self._capacity,
            )
        self._episode_dropped += excess
        self._drop(excess, metering.DropReason.OVERFLOW)

    def _drop(self, count: int, reason: metering.DropReason) -> None:
        self.dropped += count
        self.settled += count
        self._metrics.rows_dropped.labels(reason).inc(count)
