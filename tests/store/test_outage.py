"""The database goes away mid-rollout: recording goes on, and afterwards every row is there once.

Three ways to lose the database: its server processes for fleet's connections are
terminated (``pg_terminate_backend``, as an administrator or a failover would); the network
path is cut and restored (a TCP proxy stopped and started, so the shared server is not
touched); and the answer to one COMMIT is lost on the way back, so the store retries a
batch that is already in. The producer stands in for the engine: it records syncs without
ever awaiting the store. A database that comes back with a schema newer than this fleet
is not an outage but a refusal, and says so.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from fleet.store import migrating, postgresql
from fleet.structs.settings import HistorySettings
from tests.store import records
from tests.store.conftest import NOW
from tests.store.proxy import TcpProxy
from tests.support import database as db

LATEST = migrating.available()[-1].version


class Producer:
    """Records a sync for one of 1,000 clusters at every turn of the event loop."""

    def __init__(self, store: postgresql.PostgresHistory) -> None:
        self._store = store
        self.ids: list[uuid.UUID] = []

    def record(self, count: int) -> None:
        for _ in range(count):
            n = len(self.ids)
            sync = records.sync(cluster=f"cluster-{n % 1000}", at=NOW + n * timedelta(seconds=1))
            self._store.record_sync(sync)  # synchronous: the sync path cannot wait here
            self.ids.append(sync.id)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.record(5)
            await asyncio.sleep(0)


async def _eventually(condition: Callable[[], bool]) -> None:
    # The store's status changes without telling anyone; looking again is the only way.
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def _end_a_connection(database: db.Database) -> None:
    """Terminate the store's connections; between reconnects there may be none, so retry."""
    async with asyncio.timeout(20):
        while not await database.terminate_fleet_connections():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def _assert_stored_once(
    database: db.Database, registry: CollectorRegistry, producer: Producer
) -> None:
    """Every sync produced is in the table once, each batch was confirmed once, none dropped."""
    rows = await database.admin.fetch(f'SELECT id FROM "{database.schema}".syncs')
    assert sorted(row["id"] for row in rows) == sorted(producer.ids)
    labels = {"table": "syncs"}
    assert registry.get_sample_value("fleet_history_rows_written_total", labels) == len(
        producer.ids
    )
    assert (
        registry.get_sample_value("fleet_history_rows_dropped_total", {"reason": "overflow"}) == 0
    )


async def test_terminated_connections_lose_nothing_and_duplicate_nothing(
    database: db.Database, registry: CollectorRegistry
) -> None:
    store = _store(database.settings(batch_size=100), registry)
    await store.start()
    producer = Producer(store)
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        group.create_task(producer.run(stop))
        for turn in range(1, 6):
            await _eventually(lambda: len(producer.ids) > 2000 * turn)  # noqa: B023
            await _end_a_connection(database)
        stop.set()
    await asyncio.wait_for(store.flush(), timeout=20)
    await store.close()

    await _assert_stored_once(database, registry, producer)


async def test_a_network_outage_waits_in_the_buffer_and_every_row_lands_once(
    database: db.Database, registry: CollectorRegistry
) -> None:
    proxy = await TcpProxy.to(database.url)
    url = proxy.url(database.url)
    store = _store(database.settings(database_url=url), registry)
    await store.start()
    producer = Producer(store)
    producer.record(100)
    await asyncio.wait_for(store.flush(), timeout=10)

    await proxy.stop()
    producer.record(1)
    await _eventually(lambda: not store.status().connected)
    producer.record(500)  # while the database is away, recording goes on
    status = store.status()
    assert status.buffered >= 500
    assert status.last_error is not None
    assert status.last_error_since is not None

    await proxy.start()
    await asyncio.wait_for(store.flush(), timeout=10)
    await store.close()
    await proxy.stop()

    await _assert_stored_once(database, registry, producer)


async def test_a_store_started_while_the_database_is_away_catches_up(
    database: db.Database, registry: CollectorRegistry
) -> None:
    proxy = await TcpProxy.to(database.url)
    await proxy.stop()
    url = proxy.url(database.url)
    store = _store(database.settings(database_url=url), registry)
    await store.start()  # does not fail: reconciling must not wait for history
    assert not store.status().connected
    producer = Producer(store)
    producer.record(50)

    await proxy.start()
    await asyncio.wait_for(store.flush(), timeout=10)
    assert store.status().connected
    await store.close()
    await proxy.stop()
    await _assert_stored_once(database, registry, producer)


def _store(settings: HistorySettings, registry: CollectorRegistry) -> postgresql.PostgresHistory:
    # The system clock: real outages take real time. Records are dated around NOW, in the
    # future, so retention leaves them alone.
    return postgresql.PostgresHistory(settings, registry=registry)


async def test_an_outage_longer_than_the_buffer_drops_the_oldest_and_says_so(
    database: db.Database, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = await TcpProxy.to(database.url)
    url = proxy.url(database.url)
    store = _store(database.settings(database_url=url, buffer_size=50, batch_size=10), registry)
    await store.start()
    await proxy.stop()
    producer = Producer(store)
    producer.record(1)
    await _eventually(lambda: not store.status().connected)
    caplog.clear()
    producer.record(199)
    status = store.status()
    assert status.dropped >= 150  # the one batch in flight may be held on top of the 50

    await proxy.start()
    await asyncio.wait_for(store.flush(), timeout=10)
    await store.close()
    await proxy.stop()

    dropped = store.status().dropped
    rows = await database.admin.fetch(f'SELECT id FROM "{database.schema}".syncs')
    assert sorted(row["id"] for row in rows) == sorted(producer.ids[dropped:])
    overflow = {"reason": "overflow"}
    assert registry.get_sample_value("fleet_history_rows_dropped_total", overflow) == dropped
    overflow_lines = [m for m in caplog.messages if "history buffer" in m]
    assert overflow_lines == [
        "history buffer is full (50 rows): dropping the oldest rows until the database"
        " catches up; metric fleet_history_rows_dropped_total counts them",
        f"history buffer has room again; {dropped} rows were dropped while it was full",
    ]


async def test_a_batch_whose_commit_answer_was_lost_is_written_again_exactly_once(
    database: db.Database, registry: CollectorRegistry
) -> None:
    # The batch is in the table, but the store saw its connection die before the COMMIT
    # came back: it must retry, and the retry must neither fail on nor duplicate the rows.
    proxy = await TcpProxy.to(database.url)
    store = _store(database.settings(database_url=proxy.url(database.url)), registry)
    await store.start()  # the migrations' COMMIT goes through: nothing is armed yet
    producer = Producer(store)
    proxy.lose_next_commit_answer()
    producer.record(300)
    await asyncio.wait_for(store.flush(), timeout=10)
    await store.close()
    await proxy.stop()

    assert proxy.commits_lost == 1
    failed = registry.get_sample_value("fleet_history_write_batches_total", {"result": "failed"})
    assert failed == 1
    rejected = {"reason": "rejected"}
    assert registry.get_sample_value("fleet_history_rows_dropped_total", rejected) == 0
    await _assert_stored_once(database, registry, producer)


async def test_a_newer_schema_found_after_an_outage_is_an_error_and_rows_wait(
    database: db.Database, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = await TcpProxy.to(database.url)
    await proxy.stop()
    settings = database.settings(database_url=proxy.url(database.url), close_timeout=0.2)
    store = _store(settings, registry)
    await store.start()  # the database is away: start-up goes on, the writer migrates later
    Producer(store).record(3)
    # Meanwhile a newer fleet upgrades the schema.
    await migrating.migrate(
        database.admin, schema=database.schema, migrations=migrating.available()
    )
    await database.admin.execute(
        f'INSERT INTO "{database.schema}".schema_migrations (version, name)'
        " VALUES ($1, 'from_the_future')",
        LATEST + 1,
    )
    caplog.clear()
    await proxy.start()
    await _eventually(lambda: "at version" in (store.status().last_error or ""))
    status = store.status()
    assert (status.connected, status.buffered) == (False, 3)
    assert f"knows versions up to {LATEST} only" in (status.last_error or "")
    seen = proxy.requests
    await _eventually(lambda: proxy.requests > seen + 30)  # several more attempts
    await store.close()
    await proxy.stop()

    refusals = [r for r in caplog.records if "refuses this fleet" in r.getMessage()]
    assert [r.levelname for r in refusals] == ["ERROR"]  # once, however often it retried
    assert await database.count("syncs") == 0
    shutdown = {"reason": "shutdown"}
    assert registry.get_sample_value("fleet_history_rows_dropped_total", shutdown) == 3
