"""Migrations: from nothing, by two replicas at once, and never onto a newer schema."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from fleet.store import migrating, postgresql, tables
from fleet.structs import errors
from fleet.structs import history as h
from tests.store import records
from tests.store.conftest import NOW
from tests.support import database as db

LATEST = migrating.available()[-1].version


async def _versions(database: db.Database) -> list[int]:
    rows = await database.admin.fetch(
        f'SELECT version FROM "{database.schema}".schema_migrations ORDER BY version'
    )
    return [row["version"] for row in rows]


async def _tables(database: db.Database) -> set[str]:
    rows = await database.admin.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
        database.schema,
    )
    return {row["table_name"] for row in rows}


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    versions = [migration.version for migration in migrating.available()]
    assert versions == list(range(1, len(versions) + 1))
    assert repr(migrating.available()[0]) == "Migration(0001_history)"


async def test_a_store_creates_its_schema_from_nothing(database: db.Database) -> None:
    store = postgresql.PostgresHistory(database.settings(), registry=CollectorRegistry())
    await store.start()
    await store.close()
    assert await _tables(database) == {
        "schema_migrations",
        "revisions",
        "syncs",
        "sync_bundles",
        "drift",
    }
    assert await _versions(database) == list(range(1, LATEST + 1))


async def test_two_stores_starting_together_migrate_once(database: db.Database) -> None:
    stores = [
        postgresql.PostgresHistory(database.settings(), registry=CollectorRegistry())
        for _ in range(2)
    ]
    # Hold the migration lock so that both stores are surely waiting on it at once.
    lock = "SELECT pg_advisory_lock(hashtextextended($1, 0))"
    name = f"fleet.store migrations {database.schema}"
    await database.admin.execute(lock, name)
    starting = asyncio.gather(*(store.start() for store in stores))
    async with asyncio.timeout(10):
        while await _waiting_for_lock(database) < 2:  # noqa: ASYNC110 -- no event to await
            await asyncio.sleep(0.01)
    await database.admin.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
    await starting
    assert all(store.status().connected for store in stores)
    await asyncio.gather(*(store.close() for store in stores))
    assert await _versions(database) == list(range(1, LATEST + 1))


async def _waiting_for_lock(database: db.Database) -> int:
    waiting: int = await database.admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = $1 AND wait_event_type = 'Lock'",
        database.application_name,
    )
    return waiting


async def test_a_second_start_changes_nothing(database: db.Database) -> None:
    for _ in range(2):
        store = postgresql.PostgresHistory(database.settings(), registry=CollectorRegistry())
        await store.start()
        await store.close()
    assert await _versions(database) == list(range(1, LATEST + 1))


async def test_a_newer_schema_is_refused_with_a_clear_error(database: db.Database) -> None:
    store = postgresql.PostgresHistory(database.settings(), registry=CollectorRegistry())
    await store.start()
    await store.close()
    await database.admin.execute(
        f'INSERT INTO "{database.schema}".schema_migrations (version, name)'
        " VALUES ($1, 'from_the_future')",
        LATEST + 1,
    )
    newer = postgresql.PostgresHistory(database.settings(), registry=CollectorRegistry())
    with pytest.raises(errors.HistorySchemaError) as caught:
        await newer.start()
    assert caught.value.where == f"database schema {database.schema!r}"
    assert f"at version {LATEST + 1}" in str(caught.value)
    assert f"up to {LATEST} only" in str(caught.value)
    await newer.close()  # nothing was started, so nothing to stop
    assert await _versions(database) == [*range(1, LATEST + 1), LATEST + 1]


async def test_a_failing_migration_leaves_the_schema_as_it_was(database: db.Database) -> None:
    broken = (*migrating.available(), migrating.Migration(LATEST + 1, "broken", "SELECT 1/0"))
    connection = await db.connect(database.url)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrating.migrate(connection, schema=database.schema, migrations=broken)
    finally:
        await connection.close()
    assert await _tables(database) == set()


async def test_a_migration_may_take_longer_than_a_statement_of_history(
    database: db.Database,
) -> None:
    # Building an index over millions of rows outlasts history.command_timeout.
    slow = (*migrating.available(), migrating.Migration(LATEST + 1, "slow", "SELECT pg_sleep(0.5)"))
    connection = await asyncpg.connect(database.url, command_timeout=0.1)
    try:
        with pytest.raises(TimeoutError):
            await connection.execute("SELECT pg_sleep(0.5)")  # what a migration would meet
        assert await migrating.migrate(connection, schema=database.schema, migrations=slow) == (
            LATEST + 1
        )
    finally:
        await connection.close()


async def test_version_2_gives_the_bundles_of_version_1_their_trigger_and_counts(
    database: db.Database,
) -> None:
    # Two syncs as a fleet of version 1 wrote them, bundles in the JSON and in sync_bundles.
    first, second = (
        records.sync(at=NOW, bundles=("base", "web")),
        records.sync(at=NOW + timedelta(minutes=1), trigger=h.SyncTrigger.DRIFT),
    )
    schema = database.schema
    connection = await db.connect(database.url)
    try:
        await migrating.migrate(connection, schema=schema, migrations=migrating.available()[:1])
        for sync in (first, second):
            await connection.execute(
                f'INSERT INTO "{schema}".syncs VALUES'
                " ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, 0, 0, 0, NULL, NULL, $8::jsonb)",
                sync.id, sync.cluster, sync.revision, str(sync.trigger), str(sync.result),
                sync.started_at, sync.finished_at, tables.bundles_json(sync.bundles),
            )  # fmt: skip
        await connection.execute(
            f'INSERT INTO "{schema}".sync_bundles'
            " SELECT s.id, b.value ->> 'name', s.cluster, s.revision, s.result, s.finished_at"
            f' FROM "{schema}".syncs s, jsonb_array_elements(s.bundles) b'
        )
        assert (
            await migrating.migrate(connection, schema=schema, migrations=migrating.available())
            == LATEST
        )
    finally:
        await connection.close()

    rows = await database.admin.fetch(
        "SELECT sync_id, bundle, trigger, created, configured, unchanged, deleted, skipped,"
        f' failed FROM "{schema}".sync_bundles ORDER BY finished_at, bundle'
    )
    assert [tuple(row) for row in rows] == [
        (sync.id, bundle.name, str(sync.trigger), *dataclasses.astuple(bundle.counts))
        for sync in (first, second)
        for bundle in sync.bundles
    ]
    # Its keys are back: a sync's bundles still go with it.
    await database.admin.execute(f'DELETE FROM "{schema}".syncs WHERE id = $1', first.id)
    assert await database.count("sync_bundles") == len(second.bundles)
