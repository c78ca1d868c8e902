"""Cursors: what one page hands out, the next page takes back; anything else is a clear 400."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from fleet.store import paging
from fleet.structs import errors
from fleet.structs import history as h
from tests.store import records
from tests.store.conftest import NOW


@pytest.mark.parametrize(
    "record",
    [
        records.sync(at=NOW),
        records.drift(at=NOW),
        records.revision(sha=records.SHA_A, at=NOW),
    ],
    ids=["sync", "drift", "revision"],
)
def test_a_cursor_carries_the_position_of_a_record(record: paging.Record) -> None:
    table = paging.table_of(record)
    cursor = paging.encode(table, paging.position(record))
    assert paging.decode(table, cursor) == paging.position(record)


def _cursor(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


GOOD_KEY = [str(uuid.uuid4())]


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        ("not a cursor!", "not one that fleet made"),
        (_cursor(["syncs"]), "does not belong to /syncs"),
        (_cursor({"table": "drift", "at": NOW.isoformat(), "key": GOOD_KEY}), "/syncs"),
        (_cursor({"table": "syncs", "at": "yesterday", "key": GOOD_KEY}), "its time is not"),
        (_cursor({"table": "syncs", "at": "2025-03-14T12:00:00", "key": GOOD_KEY}), "not one"),
        (_cursor({"table": "syncs", "at": NOW.isoformat(), "key": ["x"]}), "not one"),
        (_cursor({"table": "syncs", "at": NOW.isoformat(), "key": [1]}), "not one"),
        (_cursor({"table": "syncs", "at": NOW.isoformat(), "key": GOOD_KEY * 2}), "not one"),
        (_cursor({"table": "syncs", "at": NOW.isoformat()}), "not one"),
        ("A" * 2000, "too long"),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode(), "not one"),
    ],
    ids=[
        "garbage",
        "not-an-object",
        "other-table",
        "bad-time",
        "naive-time",
        "bad-uuid",
        "key-not-text",
        "key-too-long",
        "no-key",
        "too-long",
        "not-utf8",
    ],
)
def test_a_malformed_cursor_is_a_user_error_naming_the_cursor(cursor: str, why: str) -> None:
    with pytest.raises(errors.HistoryQueryError, match=why) as caught:
        paging.decode(paging.Table.SYNCS, cursor)
    assert caught.value.where == "cursor"
    assert "start again without a cursor" in str(caught.value)


@pytest.mark.parametrize("limit", [0, -1, h.MAX_PAGE_SIZE + 1])
def test_page_size_out_of_range_is_a_user_error(limit: int) -> None:
    with pytest.raises(errors.HistoryQueryError, match="between 1 and 1000") as caught:
        paging.check_limit(limit)
    assert caught.value.where == "limit"


def test_a_page_has_a_next_cursor_only_when_more_rows_follow() -> None:
    rows = [records.sync(at=NOW), records.sync(at=NOW)]
    assert paging.page(paging.Table.SYNCS, rows, 2).next_cursor is None
    full = paging.page(paging.Table.SYNCS, rows, 1)
    assert full.items == (rows[0],)
    assert full.next_cursor == paging.encode(paging.Table.SYNCS, paging.position(rows[0]))
