"""What the PostgreSQL store does beyond answering queries: status, metrics, shutdown,
refused data, retention, and the indexes its queries read."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from fleet.store import paging, postgresql, querying
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName
from tests.store import records
from tests.store.conftest import NOW
from tests.support import clock
from tests.support import database as db

DAY = 24 * 3600.0


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_status_and_repr_say_where_history_goes(
    postgres_store: postgresql.PostgresHistory, database: db.Database
) -> None:
    status = postgres_store.status()
    assert status == h.HistoryStatus(
        backend=h.HistoryBackend.POSTGRESQL,
        location="postgresql://127.0.0.1:5432/test",
        connected=True,
        buffered=0,
        dropped=0,
        last_error=None,
        last_error_since=None,
    )
    assert repr(postgres_store) == (
        f"<PostgresHistory postgresql://127.0.0.1:5432/test schema={database.schema}"
        " connected buffered=0 dropped=0>"
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
    settings = database.settings(retention_batch=5, retention_interval=100 * DAY)
    store = postgresql.PostgresHistory(settings, registry=registry, clock=fake)
    await store.start()
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


async def _seed_many(database: db.Database, count: int) -> None:
    """``count`` syncs over 1,000 clusters, written by SQL: fast enough for a planner test."""
    schema = database.schema
    await database.admin.execute(
        f"""
        INSERT INTO "{schema}".syncs
        SELECT gen_random_uuid(), 'cluster-' || (n % 1000), md5((n / 3000)::text), 'commit',
               CASE WHEN n % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
               $1::timestamptz + n * interval '1 second',
               $1::timestamptz + n * interval '1 second' + interval '2 seconds',
               0, 1, 7, 0, 0, 0, NULL, NULL, '[]'::jsonb
        FROM generate_series(1, $2) AS n
        """,
        NOW,
        count,
    )
    await database.admin.execute(
        f"""
        INSERT INTO "{schema}".sync_bundles
        SELECT id, bundle, cluster, revision, result, finished_at
        FROM "{schema}".syncs, unnest(ARRAY['base', 'web']) AS bundle
        """
    )
    await database.admin.execute(f'ANALYZE "{schema}".syncs, "{schema}".sync_bundles')


INDEXES = [
    (h.SyncFilter(), "syncs_page"),
    (h.SyncFilter(cluster=ClusterName("cluster-7")), "syncs_cluster"),
    (h.SyncFilter(revision=records.SHA_A), "syncs_revision"),
    (h.SyncFilter(result=h.SyncResult.FAILED), "syncs_result"),
    (h.SyncFilter(bundle=BundleName("web")), "sync_bundles_page"),
    (h.SyncFilter(since=NOW, until=NOW + timedelta(hours=1)), "syncs_page"),
]
"""Which index each kind of /syncs query must read, on the first page and deep down."""


async def test_sync_queries_read_an_index_not_the_whole_table(
    postgres_store: postgresql.PostgresHistory, database: db.Database
) -> None:
    await _seed_many(database, 30_000)
    await database.admin.execute(f'SET search_path TO "{database.schema}"')
    middle = paging.Position(NOW + timedelta(seconds=15_000), (str(uuid.UUID(int=2**127)),))
    for where, index in INDEXES:
        for after in (None, middle):
            query = querying.syncs(where, after=after, limit=101)
            plan = await database.admin.fetchval(f"EXPLAIN (FORMAT JSON) {query.sql}", *query.args)
            nodes = list(_nodes(json.loads(plan)[0]["Plan"]))
            assert index in {node.get("Index Name") for node in nodes}, (where, after, nodes)
            assert "Seq Scan" not in {node["Node Type"] for node in nodes}, (where, after, nodes)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)
