"""The database password never shows: not in a repr, the status, a log line or an error."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from prometheus_client import CollectorRegistry

from fleet.store import postgresql
from fleet.structs import errors
from fleet.structs import history as h
from tests.store import records
from tests.store.conftest import NOW
from tests.support import database as db

PASSWORD = "Hunter2/Sup3r:s3cret"
ENCODED = "Hunter2%2FSup3r%3As3cret"


def _with_password(url: str, *, user: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user or parts.username}:{ENCODED}@{host}").geturl()


def _assert_hidden(*texts: object) -> None:
    for text in texts:
        assert PASSWORD not in str(text)
        assert ENCODED not in str(text)


async def _exercise(store: postgresql.PostgresHistory) -> list[object]:
    """Start, record, query and close the store; everything it showed on the way."""
    shown: list[object] = [repr(store)]
    await store.start()
    store.record_sync(records.sync(at=NOW))
    shown += [repr(store), store.status()]
    try:
        await store.list_syncs(h.SyncFilter())
    except errors.HistoryUnavailableError as error:
        shown += [error, error.__cause__, error.__context__]
    shown += [repr(store), store.status()]
    await store.close()
    return shown


async def test_a_working_store_never_shows_the_password(
    database: db.Database, caplog: pytest.LogCaptureFixture
) -> None:
    settings = database.settings(database_url=_with_password(database.url))
    store = postgresql.PostgresHistory(settings, registry=CollectorRegistry())
    with caplog.at_level(logging.DEBUG):
        shown = await _exercise(store)
    assert store.status().connected is False  # closed
    _assert_hidden(repr(settings), *shown, caplog.text)


async def test_an_unreachable_store_never_shows_the_password(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://fleet:{ENCODED}@127.0.0.1:{closed_port}/test"
    store = postgresql.PostgresHistory(
        db.quick_settings(database_url=url, close_timeout=0.1), registry=CollectorRegistry()
    )
    with caplog.at_level(logging.DEBUG):
        shown = await _exercise(store)
    assert any(isinstance(item, errors.HistoryUnavailableError) for item in shown)
    _assert_hidden(*shown, caplog.text)
    assert "ConnectionRefusedError" in caplog.text


async def test_driver_messages_that_quote_the_password_are_scrubbed(
    database: db.Database, caplog: pytest.LogCaptureFixture
) -> None:
    # The server names the unknown role in its refusal; here the role is the password.
    url = _with_password(database.url, user=ENCODED)
    store = postgresql.PostgresHistory(
        database.settings(database_url=url, close_timeout=0.1), registry=CollectorRegistry()
    )
    with caplog.at_level(logging.DEBUG):
        shown = await _exercise(store)
    status = store.status()
    assert status.last_error is not None
    assert 'role "***" does not exist' in status.last_error
    _assert_hidden(*shown, caplog.text, status)
