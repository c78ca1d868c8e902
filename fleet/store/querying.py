"""SQL for the API's history queries: filters and a keyset page, in one statement each.

Every query is "rows matching the filters, strictly before the cursor's position, newest
first, one more than the page" and is answered from one index read backwards: the filter
column leads the index and (time, key) follows it, so the first page and the thousandth
cost the same. A bundle filter reads from ``sync_bundles``, whose (bundle, finished_at,
sync_id) index gives the same order, and joins each hit to its sync.

Filter values only ever travel as parameters; the only text put into SQL is column names
chosen here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.store import paging, tables
from fleet.structs import history as h


@dataclass(frozen=True, slots=True)
class Query:
    sql: str
    args: tuple[Any, ...]


class _Conditions:
    """A WHERE clause under construction, numbering its parameters as they come."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.args: list[Any] = []

    def parameter(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def equal(self, column: str, value: Any) -> None:
        if value is not None:
            self._parts.append(f"{column} = {self.parameter(value)}")

    def window(
        self,
        columns: tuple[str, ...],
        *,
        since: datetime | None,
        until: datetime | None,
        after: tuple[Any, ...] | None,
    ) -> None:
        """``since <= time < until``, and before ``after`` in (time, key...) order."""
        if since is not None:
            self._parts.append(f"{columns[0]} >= {self.parameter(since)}")
        if until is not None:
            self._parts.append(f"{columns[0]} < {self.parameter(until)}")
        if after is not None:
            placeholders = ", ".join(self.parameter(value) for value in after)
            self._parts.append(f"({', '.join(columns)}) < ({placeholders})")

    @property
    def sql(self) -> str:
        return f"WHERE {' AND '.join(self._parts)}" if self._parts else ""


def syncs(where: h.SyncFilter, *, after: paging.Position | None, limit: int) -> Query:
    conditions = _Conditions()
    if where.bundle is None:
        source, order = "syncs s", ("s.finished_at", "s.id")
    else:
        source, order = (
            "sync_bundles b JOIN syncs s ON s.id = b.sync_id",
            ("b.finished_at", "b.sync_id"),
        )
        conditions.equal("b.bundle", where.bundle)
    conditions.equal("s.cluster", where.cluster)
    conditions.equal("s.revision", where.revision)
    conditions.equal("s.result", _text(where.result))
    conditions.equal("s.trigger", _text(where.trigger))
    conditions.window(order, since=where.since, until=where.until, after=_by_id(after))
    return _select(tables.SYNC_COLUMNS, source, conditions, order, limit)


def drift(where: h.DriftFilter, *, after: paging.Position | None, limit: int) -> Query:
    conditions = _Conditions()
    conditions.equal("d.cluster", where.cluster)
    conditions.equal("d.bundle", where.bundle)
    conditions.equal("d.object_kind", where.kind)
    conditions.equal("d.object_namespace", where.namespace)
    conditions.equal("d.object_name", where.name)
    conditions.equal("d.field_manager", where.field_manager)
    conditions.equal("d.action", _text(where.action))
    order = ("d.observed_at", "d.id")
    conditions.window(order, since=where.since, until=where.until, after=_by_id(after))
    return _select(tables.DRIFT_COLUMNS, "drift d", conditions, order, limit)


def revisions(where: h.RevisionFilter, *, after: paging.Position | None, limit: int) -> Query:
    conditions = _Conditions()
    conditions.equal("r.repository", where.repository)
    conditions.equal("r.ref", where.ref)
    order = ("r.committed_at", "r.repository", "r.sha")
    after_values = None if after is None else (after.at, *after.key)
    conditions.window(order, since=where.since, until=where.until, after=after_values)
    return _select(tables.REVISION_COLUMNS, "revisions r", conditions, order, limit)


def _select(
    columns: str, source: str, conditions: _Conditions, order: tuple[str, ...], limit: int
) -> Query:
    descending = ", ".join(f"{column} DESC" for column in order)
    limit_parameter = conditions.parameter(limit)
    # Only this module's column names are formatted in; every value is a parameter.
    sql = (
        f"SELECT {columns} FROM {source} {conditions.sql}"  # noqa: S608
        f" ORDER BY {descending} LIMIT {limit_parameter}"
    )
    return Query(sql=sql, args=tuple(conditions.args))


def _by_id(after: paging.Position | None) -> tuple[Any, ...] | None:
    return None if after is None else (after.at, uuid.UUID(after.key[0]))


def _text(value: str | None) -> str | None:
    # Enum members travel as their plain values; asyncpg encodes str subclasses fine, but
    # the memory store and the logs should see the same thing.
    return None if value is None else str(value)
