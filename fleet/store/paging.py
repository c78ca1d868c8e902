"""Keyset pages, shared by both backends so that a cursor means the same thing everywhere.

An offset page (``OFFSET 50000``) makes the database walk every skipped row and shifts when
new rows arrive. A keyset page starts strictly after the last row shown, in a fixed order
(newest first, then a unique key to break ties), so every page costs one index descent and
no row is shown twice. The position of a row is therefore part of the record's contract:
`position` is the single definition that PostgreSQL's ORDER BY and the memory store's
sorted lists both follow.

A cursor is the position of the last row of a page, as base64 of a small JSON document that
also names the table, so that a /drift cursor given to /syncs is refused with a message a
person can act on instead of silently answering a different question. Tie-break keys are
strings compared code point by code point, which is how PostgreSQL compares ``uuid`` values
and ``COLLATE "C"`` text too.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias, TypeVar
from uuid import UUID

from fleet.structs import errors
from fleet.structs import history as h

Record: TypeAlias = h.SyncRecord | h.DriftRecord | h.RevisionRecord
R = TypeVar("R", h.SyncRecord, h.DriftRecord, h.RevisionRecord)

MAX_CURSOR_LENGTH = 1024
"""Longer than any cursor fleet hands out; a longer one is refused before decoding."""


class Table(StrEnum):
    """The tables that hold records; names as in SQL and in metric labels."""

    SYNCS = "syncs"
    DRIFT = "drift"
    REVISIONS = "revisions"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a row sits in its table's order: its time, then its unique key."""

    at: datetime
    key: tuple[str, ...]


def table_of(record: Record) -> Table:
    if isinstance(record, h.SyncRecord):
        return Table.SYNCS
    if isinstance(record, h.DriftRecord):
        return Table.DRIFT
    return Table.REVISIONS


def position(record: Record) -> Position:
    """A sync sits at its end, a drift when it was seen, a revision when it was committed."""
    if isinstance(record, h.SyncRecord):
        return Position(record.finished_at, (str(record.id),))
    if isinstance(record, h.DriftRecord):
        return Position(record.observed_at, (str(record.id),))
    return Position(record.committed_at, (record.repository, record.sha))


def check_limit(limit: int) -> None:
    if not 1 <= limit <= h.MAX_PAGE_SIZE:
        raise errors.HistoryQueryError(
            f"page size must be between 1 and {h.MAX_PAGE_SIZE}, got {limit}", where="limit"
        )


def page(table: Table, rows: Sequence[R], limit: int) -> h.Page[R]:
    """The first ``limit`` rows; ``rows`` holds one more when another page follows."""
    items = tuple(rows[:limit])
    more = len(rows) > limit
    return h.Page(items=items, next_cursor=encode(table, position(items[-1])) if more else None)


def encode(table: Table, at: Position) -> str:
    document = {"table": str(table), "at": at.at.isoformat(), "key": list(at.key)}
    text = json.dumps(document, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(table: Table, cursor: str) -> Position:
    """The position a cursor of ``table`` carries; anything else is a `HistoryQueryError`."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _malformed(table, "it is too long")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        document = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _malformed(table, "it is not one that fleet made") from None
    if not isinstance(document, dict) or document.get("table") != table:
        raise _malformed(table, f"it does not belong to /{table}")
    at, key = document.get("at"), document.get("key")
    if not isinstance(at, str) or not isinstance(key, list):
        raise _malformed(table, "it is not one that fleet made")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise _malformed(table, "its time is not a time") from None
    if moment.tzinfo is None or not _key_fits(table, key):
        raise _malformed(table, "it is not one that fleet made")
    return Position(moment, tuple(key))


def _key_fits(table: Table, key: list[object]) -> bool:
    if not all(isinstance(part, str) for part in key):
        return False
    if table is Table.REVISIONS:
        return len(key) == 2
    if len(key) != 1:
        return False
    try:
        # The database would refuse a malformed uuid with a less helpful message.
        return str(UUID(str(key[0]))) == key[0]
    except ValueError:
        return False


def _malformed(table: Table, why: str) -> errors.HistoryQueryError:
    return errors.HistoryQueryError(
        f"this cursor cannot continue /{table}: {why}; start again without a cursor",
        where="cursor",
    )
