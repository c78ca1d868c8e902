"""What the PostgreSQL store does beyond answering queries: status, metrics, batches,
shutdown, refused data and retention. (The indexes its queries read: test_indexes.py.)"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fleet.store import postgresql
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.objects import BundleName
from tests.store import records
from tests.store.conftest import NOW
from tests.support import clock
from tests.support import database as db

DAY = 24 * 3600.0


async def _started(
    database: db.Database, registry: CollectorRegistry, fake: clock.FakeClock, **settings: Any
) -> postgresql.PostgresHistory:
    """A started store in the test's schema, on the fake clock, with ``settings`` changed."""
    store = postgresql.PostgresHistory(database.settings(**settings), registry=registry, clock=fake)
    await store.start()
    return store


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_status_and_repr_say_where_history_goes(
    postgres_store: postgresql.PostgresHistory, database: db.Database
) -> None:
    # The server is whichever FLEET_TEST_DATABASE_URL names, shown without credentials.
    location = h.without_credentials(database.url)
    status = postgres_store.status()
    assert status == h.HistoryStatus(
        backend=h.HistoryBackend.POSTGRESQL,
        location=location,
        connected=True,
        buffered=0,
        dropped=0,
        last_error=None,
        last_error_since=None,
    )
    assert repr(postgres_store) == (
        f"<PostgresHistory {location} schema={database.schema} connected buffered=0 dropped=0>"
    )


async def test_written_rows_and_batches_are_measured(
    postgres_store: postgresql.PostgresHistory, registry: CollectorRegistry
) -> None:
    for n in range(3):
        postgres_store.record_sync(records.sync(at=NOW + timedelta(seconds=n)))
    postgres_store.record_drift(records.drift(at=NOW))
    await postgres_store.flush()
    written = "fleet_history_rows_written_total"
    assert _sample(registry, written, table="syncs") == 3
    assert _sample(registry, written, table="drift") == 1
    assert _sample(registry, written, table="revisions") == 0
    assert (_sample(registry, "fleet_history_write_batches_total", result="written") or 0) >= 1
    assert (_sample(registry, "fleet_history_write_duration_seconds_count") or 0) >= 1
    assert _sample(registry, "fleet_history_buffer_rows") == 0


async def test_rows_are_written_in_batches_of_batch_size(
    database: db.Database, registry: CollectorRegistry
) -> None:
    store = await _started(database, registry, clock.FakeClock(), batch_size=100)
    try:
        for n in range(250):
            store.record_sync(records.sync(at=NOW + timedelta(seconds=n)))
        await store.flush()
    finally:
        await store.close()
    assert _sample(registry, "fleet_history_write_batches_total", result="written") == 3
    assert _sample(registry, "fleet_history_write_duration_seconds_count") == 3
    assert await database.count("syncs") == 250


async def test_close_writes_what_is_buffered(database: db.Database) -> None:
    store = postgresql.PostgresHistory(
        database.settings(flush_interval=60), registry=CollectorRegistry(), clock=clock.FakeClock()
    )
    await store.start()
    for n in range(25):
        store.record_sync(records.sync(at=NOW + timedelta(seconds=n)))
    await store.close()
    assert await database.count("syncs") == 25
    assert repr(store).endswith("disconnected buffered=0 dropped=0>")


async def test_rows_left_at_shutdown_are_counted_and_logged(
    caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    registry = CollectorRegistry()
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/test"
    settings = db.quick_settings(database_url=url, close_timeout=0.2)
    store = postgresql.PostgresHistory(settings, registry=registry)
    await store.start()
    for n in range(7):
        store.record_sync(records.sync(at=NOW + timedelta(seconds=n)))
    caplog.clear()  # the warning that the database is away is not what this is about
    await store.close()
    assert store.status().dropped == 7
    assert _sample(registry, "fleet_history_rows_dropped_total", reason="shutdown") == 7
    assert caplog.messages == [
        f"history: 7 rows could not be written to {h.without_credentials(url)} before shutdown"
    ]


async def test_a_batch_the_database_refuses_is_dropped_counted_and_logged(
    postgres_store: postgresql.PostgresHistory,
    registry: CollectorRegistry,
    database: db.Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    too_big = records.sync(at=NOW)
    too_big = h.SyncRecord(
        **{name: getattr(too_big, name) for name in ("cluster", "revision", "trigger", "result")},
        started_at=NOW,
        finished_at=NOW,
        bundles=(
            h.BundleOutcome(
                name=BundleName("web"),
                revision=records.SHA_A,
                result=h.SyncResult.SUCCEEDED,
                counts=h.ObjectCounts(created=2**40),  # more than an integer column holds
            ),
        ),
    )
    with caplog.at_level(logging.ERROR, logger="fleet.store"):
        postgres_store.record_sync(too_big)
        await postgres_store.flush()
    good = records.sync(at=NOW)
    postgres_store.record_sync(good)
    await postgres_store.flush()

    assert [record.id for record in (await postgres_store.list_syncs(h.SyncFilter())).items] == [
        good.id
    ]
    assert _sample(registry, "fleet_history_rows_dropped_total", reason="rejected") == 1
    assert postgres_store.status().dropped == 1
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith(
        "history: the database refused a batch of 1 rows, which are dropped: DataError"
    )


async def test_text_with_nul_characters_is_stored(
    postgres_store: postgresql.PostgresHistory,
) -> None:
    postgres_store.record_sync(records.sync(at=NOW, error="exit status 1\x00garbage"))
    await postgres_store.flush()
    (stored,) = (await postgres_store.list_syncs(h.SyncFilter())).items
    assert stored.error == "exit status 1\ufffdgarbage"
    assert stored.bundles[0].error == "exit status 1\ufffdgarbage"


async def test_retention_deletes_old_rows_but_keeps_revisions_still_synced(
    database: db.Database, registry: CollectorRegistry
) -> None:
    # Rows dated to turn old when the clock has moved ten days on. The periodic run is
    # set far out, so that only the run this test asks for deletes anything.
    fake = clock.FakeClock()
    store = await _started(
        database, registry, fake, retention_batch=5, retention_interval=100 * DAY
    )
    later = NOW + timedelta(days=10)
    old, recent = later - timedelta(days=91), later - timedelta(days=89)
    for n in range(12):
        store.record_sync(records.sync(at=old + timedelta(seconds=n)))
        store.record_drift(records.drift(at=old + timedelta(seconds=n)))
    kept_sync = records.sync(at=recent, revision=records.SHA_B)
    kept_drift = records.drift(at=recent)
    store.record_sync(kept_sync)
    store.record_drift(kept_drift)
    store.record_revision(records.revision(sha=records.SHA_A, at=old))
    still_synced = records.revision(sha=records.SHA_B, at=old)
    store.record_revision(still_synced)
    await store.flush()
    await fake.advance(10 * DAY)
    try:
        # Retention is 90 days, in batches of 5: several rounds per table.
        assert await store.apply_retention() == 12 + 12 + 1
        deleted = "fleet_history_rows_deleted_total"
        assert _sample(registry, deleted, table="syncs") == 12
        assert _sample(registry, deleted, table="revisions") == 1
        assert (await store.list_syncs(h.SyncFilter())).items == (kept_sync,)
        assert (await store.list_drift(h.DriftFilter())).items == (kept_drift,)
        assert (await store.list_revisions(h.RevisionFilter())).items == (still_synced,)
        assert await database.count("sync_bundles") == len(kept_sync.bundles)
        assert await store.apply_retention() == 0
    finally:
        await store.close()


async def test_the_writer_applies_retention_every_retention_interval(
    database: db.Database, registry: CollectorRegistry
) -> None:
    fake = clock.FakeClock()
    store = await _started(database, registry, fake, retention_days=90, retention_interval=10 * DAY)
    try:
        # 85 days old: kept by the run at start-up, past 90 days at the next run, 10 days on.
        aging = [records.sync(at=NOW - timedelta(days=85, seconds=n)) for n in range(5)]
        for sync in aging:
            store.record_sync(sync)
        await store.flush()
        # The writer runs retention after the batch; it writes the next row only after that.
        first = records.sync(at=NOW)
        store.record_sync(first)
        await store.flush()
        assert await database.count("syncs") == 6

        await fake.advance(10 * DAY)
        second = records.sync(at=NOW + timedelta(days=10))
        store.record_sync(second)
        await store.flush()  # written after the retention run that the advance started

        assert {sync.id for sync in (await store.list_syncs(h.SyncFilter())).items} == {
            first.id,
            second.id,
        }
        assert _sample(registry, "fleet_history_rows_deleted_total", table="syncs") == 5
    finally:
        await store.close()


async def test_delivery_metrics_that_take_too_long_say_how_to_ask_for_less(
    database: db.Database, registry: CollectorRegistry
) -> None:
    store = await _started(database, registry, clock.FakeClock(), command_timeout=0.5)
    query = h.DeliveryQuery(since=NOW, until=NOW + timedelta(days=30))
    try:
        async with database.admin.transaction():
            # Someone holds the table: the statement waits past its deadline.
            await database.admin.execute(f'LOCK TABLE "{database.schema}".syncs')
            with pytest.raises(errors.HistoryUnavailableError) as caught:
                await store.delivery_metrics(query)
        assert str(caught.value).endswith(
            "takes longer than 0.5 s (history.command_timeout); ask for a shorter range,"
            " one cluster or one bundle"
        )
        assert store.status().connected  # the database is there; the question was too big
        assert (await store.delivery_metrics(query)).total.deployments == 0
    finally:
        await store.close()


async def test_queries_fail_clearly_while_the_database_is_away(closed_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/test"
    settings = db.quick_settings(database_url=url)
    store = postgresql.PostgresHistory(settings, registry=CollectorRegistry())
    with pytest.raises(errors.HistoryUnavailableError, match="not started"):
        await store.list_syncs(h.SyncFilter())
    await store.start()
    try:
        with pytest.raises(errors.HistoryUnavailableError) as caught:
            await store.list_drift(h.DriftFilter())
        assert str(caught.value).startswith(
            f"the history database at {h.without_credentials(url)} cannot answer:"
        )
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None
    finally:
        await store.close()
