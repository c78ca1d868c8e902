"""History kept in memory, for a fleet run without a database URL (demos, tests, trials).

It answers the same queries with the same filters and the same cursors as the PostgreSQL
store -- the store tests run one table of cases against both -- so the API needs no second
code path. Each table is a list sorted by `paging.position`, so a page is a binary search
for the cursor followed by a walk backwards, and the oldest row is the first to go when the
table reaches its bound. Nothing here waits: writing is appending to a list.

It is bounded per table (``settings.history.memory_rows``) and the status says "memory", so
nobody mistakes it for durable history. Delivery metrics walk the syncs it holds with the
Python half of `delivering`, which the tests hold to the SQL half.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Generic

from prometheus_client import CollectorRegistry

from fleet.store import delivering, metering, paging
from fleet.structs import history as h
from fleet.structs.objects import Revision
from fleet.structs.settings import HistorySettings


class _Shelf(Generic[paging.R]):
    """One table: rows in position order, each key at most once, at most ``bound`` rows."""

    def __init__(self, table: paging.Table, bound: int) -> None:
        self.table = table
        self._bound = bound
        self._rows: list[tuple[paging.Position, paging.R]] = []
        self._keys: set[tuple[str, ...]] = set()

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, record: paging.R) -> bool:
        """False when a row with this key is already here (a record sent twice)."""
        at = paging.position(record)
        if at.key in self._keys:
            return False
        self._keys.add(at.key)
        bisect.insort(self._rows, (at, record), key=_position)
        if len(self._rows) > self._bound:
            oldest, _ = self._rows.pop(0)
            self._keys.discard(oldest.key)
        return True

    def records(self) -> Iterator[paging.R]:
        """Every row, oldest first."""
        return (record for _, record in self._rows)

    def page(
        self, matches: Callable[[paging.R], bool], *, cursor: str | None, limit: int
    ) -> h.Page[paging.R]:
        paging.check_limit(limit)
        end = len(self._rows)
        if cursor is not None:
            end = bisect.bisect_left(self._rows, paging.decode(self.table, cursor), key=_position)
        found: list[paging.R] = []
        for index in range(end - 1, -1, -1):
            record = self._rows[index][1]
            if matches(record):
                found.append(record)
                if len(found) > limit:
                    break
        return paging.page(self.table, found, limit)


class MemoryHistory:
    """A `HistoryStore` in memory: bounded, same queries, nothing survives a restart."""

    def __init__(self, settings: HistorySettings, *, registry: CollectorRegistry) -> None:
        self._metrics = metering.HistoryMetrics(registry)
        self._syncs: _Shelf[h.SyncRecord] = _Shelf(paging.Table.SYNCS, settings.memory_rows)
        self._drift: _Shelf[h.DriftRecord] = _Shelf(paging.Table.DRIFT, settings.memory_rows)
        self._revisions: _Shelf[h.RevisionRecord] = _Shelf(
            paging.Table.REVISIONS, settings.memory_rows
        )

    def __repr__(self) -> str:
        return (
            f"<MemoryHistory syncs={len(self._syncs)} drift={len(self._drift)}"
            f" revisions={len(self._revisions)}>"
        )

    async def start(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to write out."""

    async def flush(self) -> None:
        """Rows are stored as they are recorded."""

    def record_sync(self, record: h.SyncRecord) -> None:
        self._keep(self._syncs, record)

    def record_drift(self, record: h.DriftRecord) -> None:
        self._keep(self._drift, record)

    def record_revision(self, record: h.RevisionRecord) -> None:
        self._keep(self._revisions, record)

    def status(self) -> h.HistoryStatus:
        return h.HistoryStatus(
            backend=h.HistoryBackend.MEMORY,
            location=None,
            connected=True,
            buffered=0,
            dropped=0,
            last_error=None,
            last_error_since=None,
        )

    async def list_syncs(
        self, where: h.SyncFilter, *, cursor: str | None = None, limit: int = h.DEFAULT_PAGE_SIZE
    ) -> h.Page[h.SyncRecord]:
        def matches(record: h.SyncRecord) -> bool:
            return (
                _equal(where.cluster, record.cluster)
                and (where.bundle is None or any(b.name == where.bundle for b in record.bundles))
                and _equal(where.revision, record.revision)
                and _equal(where.result, record.result)
                and _equal(where.trigger, record.trigger)
                and _within(record.finished_at, where.since, where.until)
            )

        return self._syncs.page(matches, cursor=cursor, limit=limit)

    async def list_drift(
        self, where: h.DriftFilter, *, cursor: str | None = None, limit: int = h.DEFAULT_PAGE_SIZE
    ) -> h.Page[h.DriftRecord]:
        def matches(record: h.DriftRecord) -> bool:
            return (
                _equal(where.cluster, record.cluster)
                and _equal(where.bundle, record.bundle)
                and _equal(where.kind, record.key.kind)
                and _equal(where.namespace, record.key.namespace)
                and _equal(where.name, record.key.name)
                and _equal(where.field_manager, record.field_manager)
                and _equal(where.action, record.action)
                and _within(record.observed_at, where.since, where.until)
            )

        return self._drift.page(matches, cursor=cursor, limit=limit)

    async def list_revisions(
        self,
        where: h.RevisionFilter,
        *,
        cursor: str | None = None,
        limit: int = h.DEFAULT_PAGE_SIZE,
    ) -> h.Page[h.RevisionRecord]:
        def matches(record: h.RevisionRecord) -> bool:
            return (
                _equal(where.repository, record.repository)
                and _equal(where.ref, record.ref)
                and _within(record.committed_at, where.since, where.until)
            )

        return self._revisions.page(matches, cursor=cursor, limit=limit)

    async def delivery_metrics(self, query: h.DeliveryQuery) -> h.DeliveryReport:
        committed: dict[Revision, datetime] = {}
        for revision in self._revisions.records():
            # One SHA is one commit, whichever repository it was seen in.
            known = committed.get(revision.sha, revision.committed_at)
            committed[revision.sha] = min(known, revision.committed_at)
        found = delivering.events_of(query, self._syncs.records())
        return delivering.measure(query, found, committed)

    def _keep(self, shelf: _Shelf[paging.R], record: paging.R) -> None:
        if shelf.add(record):
            self._metrics.rows_written.labels(shelf.table).inc()


def _position(row: tuple[paging.Position, object]) -> paging.Position:
    return row[0]


def _equal(wanted: object, actual: object) -> bool:
    return wanted is None or wanted == actual


def _within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)
