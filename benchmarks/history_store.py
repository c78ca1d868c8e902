"""History store: rows per second through the write-behind buffer, and /syncs query latency.

Two figures for docs/benchmarks.md, measured against a real PostgreSQL in a schema of its
own (dropped afterwards):

- **Writes.** A rollout to 1,000 clusters records a few syncs per cluster, each with its
  bundles, through `record_sync` (which only buffers) and then waits until the writer has
  put every row in the database. Rows per second is syncs written over that wall time;
  the time spent inside `record_sync` is what the sync path pays.
- **Queries.** A million syncs are loaded by SQL (fast, and not what is measured), then
  `list_syncs` -- what `/api/v1/syncs` will call -- is timed for the first page and for a
  page deep in the table, with and without filters. p50 and p99 over repeated calls.
- **Delivery metrics.** `delivery_metrics` -- what `/api/v1/delivery` calls -- over the
  same table, for the last day and for the whole of it, per cluster and per bundle. In the
  seeded history a cluster syncs every 1,000 s and one sync in ten brings a new revision;
  every sync is a commit's that changed something, the most work for the query (each
  record could deploy). p50 and the slowest of a few calls.

``python -m benchmarks.history_store`` runs the full size; ``--quick`` runs a small one,
which the test suite does to keep this script working. It prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import CollectorRegistry

from benchmarks import reporting
from fleet.store import paging, postgresql, querying, tables
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName, Revision
from fleet.structs.settings import HistorySettings, Secret

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
REPOSITORY = "https://git.example.com/platform/fleet.git"
SYNCS_PER_REVISION = 10_000
"""Seeded history: each cluster syncs every 1,000 s and a new revision comes every 10 of
its syncs, so one sync in ten of those that succeed is a deployment."""
BUNDLES = tuple(BundleName(name) for name in ("base", "ingress", "monitoring", "web", "db"))
# Rows are dated in the recent past: the store's retention would delete older ones.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Size:
    clusters: int
    syncs_per_cluster: int
    seeded_rows: int
    query_repeats: int
    delivery_repeats: int


FULL = Size(
    clusters=1000,
    syncs_per_cluster=3,
    seeded_rows=1_000_000,
    query_repeats=200,
    delivery_repeats=3,
)
QUICK = Size(
    clusters=50, syncs_per_cluster=2, seeded_rows=5_000, query_repeats=5, delivery_repeats=1
)


@dataclass(frozen=True, slots=True)
class WriteFigures:
    syncs: int
    bundle_rows: int
    seconds: float
    record_microseconds: float  # per record_sync call, on the sync path

    @property
    def rows_per_second(self) -> float:
        return self.syncs / self.seconds


@dataclass(frozen=True, slots=True)
class QueryFigures:
    name: str
    p50_ms: float
    p99_ms: float
    sql_p50_ms: float  # the statement alone, without making records of the rows
    rows: int


@dataclass(frozen=True, slots=True)
class DeliveryFigures:
    name: str
    p50_ms: float
    max_ms: float
    deployments: int


@dataclass(frozen=True, slots=True)
class Report:
    size: Size
    schema: str  # where it was measured; dropped afterwards
    writes: WriteFigures
    queries: tuple[QueryFigures, ...]
    delivery: tuple[DeliveryFigures, ...]

    def table(self) -> str:
        w = self.writes
        lines = [
            f"History store, PostgreSQL ({self.size.clusters} clusters x"
            f" {self.size.syncs_per_cluster} syncs, {len(BUNDLES)} bundles each)",
            "",
            "| writes | value |",
            "| --- | --- |",
            f"| syncs written | {w.syncs:,} (+{w.bundle_rows:,} sync_bundles rows) |",
            f"| wall time until all written | {w.seconds:.2f} s |",
            f"| syncs per second | {w.rows_per_second:,.0f} |",
            f"| record_sync on the sync path | {w.record_microseconds:.1f} µs per call |",
            "",
            f"/syncs (`list_syncs`, 100 per page) over {self.size.seeded_rows:,} syncs",
            "",
            "| query | p50 | p99 | SQL alone, p50 | rows |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {q.name} | {q.p50_ms:.2f} ms | {q.p99_ms:.2f} ms | {q.sql_p50_ms:.2f} ms"
            f" | {q.rows} |"
            for q in self.queries
        ]
        lines += [
            "",
            f"/delivery (`delivery_metrics`) over {self.size.seeded_rows:,} syncs",
            "",
            "| query | p50 | slowest | deployments |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {d.name} | {d.p50_ms:.0f} ms | {d.max_ms:.0f} ms | {d.deployments:,} |"
            for d in self.delivery
        ]
        return "\n".join(lines)


async def run(url: str, size: Size) -> Report:
    """Measure in a fresh schema of the database at ``url``; the schema is dropped after."""
    schema = f"fleet_bench_{uuid.uuid4().hex[:12]}"
    settings = HistorySettings(
        database_url=Secret(url), schema=schema, application_name="fleet-bench"
    )
    admin = await asyncpg.connect(url, timeout=10)
    try:
        writes = await _measure_writes(settings, size)
        await seed(admin, schema, size.seeded_rows)
        # The whole-table delivery queries take longer than the default statement deadline:
        # measured here, and said in docs/history.md, rather than cut off.
        patient = dataclasses.replace(settings, command_timeout=600.0)
        store = postgresql.PostgresHistory(patient, registry=CollectorRegistry())
        await store.start()
        try:
            queries = await _measure_queries(store, admin, schema, size)
            delivery = await _measure_delivery(store, size)
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
    return Report(size=size, schema=schema, writes=writes, queries=queries, delivery=delivery)


async def _measure_writes(settings: HistorySettings, size: Size) -> WriteFigures:
    syncs = [
        _sync(cluster=c, n=n, at=START + timedelta(seconds=n * 60 + c / 1000))
        for n in range(size.syncs_per_cluster)
        for c in range(size.clusters)
    ]
    store = postgresql.PostgresHistory(settings, registry=CollectorRegistry())
    await store.start()
    try:
        started = time.perf_counter()
        recording = 0.0
        for index, sync in enumerate(syncs):
            before = time.perf_counter()
            store.record_sync(sync)
            recording += time.perf_counter() - before
            if index % 100 == 0:
                await asyncio.sleep(0)  # as an engine would, between syncs
        await asyncio.wait_for(store.flush(), timeout=300)
        seconds = time.perf_counter() - started
        if store.status().dropped:
            raise RuntimeError(f"{store.status().dropped} rows were dropped")
    finally:
        await store.close()
    return WriteFigures(
        syncs=len(syncs),
        bundle_rows=len(syncs) * len(BUNDLES),
        seconds=seconds,
        record_microseconds=recording / len(syncs) * 1e6,
    )


def _sync(*, cluster: int, n: int, at: datetime) -> h.SyncRecord:
    revision = Revision(f"{n:040x}")
    failed = (cluster + n) % 20 == 0  # one sync in twenty fails
    result = h.SyncResult.FAILED if failed else h.SyncResult.SUCCEEDED
    return h.SyncRecord(
        cluster=ClusterName(f"cluster-{cluster:04d}"),
        revision=revision,
        trigger=h.SyncTrigger.COMMIT,
        result=result,
        started_at=at - timedelta(seconds=3),
        finished_at=at,
        bundles=tuple(
            h.BundleOutcome(
                name=name,
                revision=revision,
                result=result,
                counts=h.ObjectCounts(configured=2, unchanged=12),
                error="Deployment web/api: admission webhook denied the request"
                if failed
                else None,
            )
            for name in BUNDLES
        ),
        trace_id=uuid.uuid4().hex,
    )


async def seed(admin: asyncpg.Connection, schema: str, rows: int) -> None:
    """``rows`` syncs over 1,000 clusters and 5 bundles each, one per second, by SQL.

    A new revision every `SYNCS_PER_REVISION` rows, each recorded in ``revisions``; one
    sync in twenty fails (always the same clusters', which never succeed).

    The secondary indexes are dropped during the load and built again after it, as a bulk
    load would: the load is set-up, not what is measured.
    """
    indexes = await admin.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1"
        " AND tablename IN ('syncs', 'sync_bundles') AND indexname NOT LIKE '%pkey'",
        schema,
    )
    for index in indexes:
        await admin.execute(f'DROP INDEX "{schema}"."{index["indexname"]}"')
    sample = _sync(cluster=1, n=0, at=START)  # succeeded; its revision is replaced per row
    template = tables.bundles_json(sample.bundles)
    await admin.execute(
        f"""
        INSERT INTO "{schema}".syncs
        SELECT gen_random_uuid(), 'cluster-' || lpad((n % 1000)::text, 4, '0'), r.sha,
               'commit', CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
               $1::timestamptz + n * interval '1 second' - interval '3 seconds',
               $1::timestamptz + n * interval '1 second',
               0, 10, 60, 0, 0, 0, NULL, md5(n::text), replace($3, $4, r.sha)::jsonb
        FROM generate_series(1, $2) AS n,
             LATERAL (SELECT md5((n / $5)::text) || '00000000' AS sha) AS r
        """,
        START,
        rows,
        template,
        sample.revision,
        SYNCS_PER_REVISION,
    )
    names = ", ".join(f"'{name}'" for name in BUNDLES)
    await admin.execute(
        f"""
        INSERT INTO "{schema}".sync_bundles
        SELECT s.id, b.name, s.cluster, s.revision, s.result, s.finished_at, s.trigger,
               0, 2, 12, 0, 0, 0
        FROM "{schema}".syncs s, unnest(ARRAY[{names}]) AS b(name)
        ON CONFLICT DO NOTHING  -- the syncs written through the store have theirs
        """
    )
    # The revisions, each committed ten minutes before the fleet starts syncing it.
    await admin.execute(
        f"""
        INSERT INTO "{schema}".revisions
        SELECT $3, md5(c::text) || '00000000', 'refs/heads/main', 'Ada', 'ada@example.com',
               $1::timestamptz + (c * $4::int) * interval '1 second' - interval '10 minutes',
               'commit ' || c, $1::timestamptz + (c * $4::int) * interval '1 second'
        FROM generate_series(0, $2::int / $4::int) AS c
        ON CONFLICT DO NOTHING
        """,
        START,
        rows,
        REPOSITORY,
        SYNCS_PER_REVISION,
    )
    for index in indexes:
        await admin.execute(index["indexdef"])
    await admin.execute(f'VACUUM ANALYZE "{schema}".syncs')
    await admin.execute(f'VACUUM ANALYZE "{schema}".sync_bundles')
    await admin.execute(f'VACUUM ANALYZE "{schema}".revisions')


async def _measure_queries(
    store: postgresql.PostgresHistory, admin: asyncpg.Connection, schema: str, size: Size
) -> tuple[QueryFigures, ...]:
    middle = paging.Position(
        START + timedelta(seconds=size.seeded_rows // 2), (str(uuid.UUID(int=0)),)
    )
    deep = paging.encode(paging.Table.SYNCS, middle)
    cases: list[tuple[str, h.SyncFilter, str | None]] = [
        ("first page, no filter", h.SyncFilter(), None),
        ("first page, cluster", h.SyncFilter(cluster=ClusterName("cluster-0042")), None),
        ("first page, bundle", h.SyncFilter(bundle=BundleName("web")), None),
        ("first page, result=failed", h.SyncFilter(result=h.SyncResult.FAILED), None),
        (
            "first page, cluster + last day",
            h.SyncFilter(
                cluster=ClusterName("cluster-0042"),
                since=START + timedelta(seconds=size.seeded_rows) - timedelta(days=1),
            ),
            None,
        ),
        ("deep page (middle), no filter", h.SyncFilter(), deep),
        ("deep page (middle), cluster", h.SyncFilter(cluster=ClusterName("cluster-0042")), deep),
        ("deep page (middle), bundle", h.SyncFilter(bundle=BundleName("web")), deep),
    ]
    await admin.execute(f'SET search_path TO "{schema}"')
    figures = []
    for name, where, cursor in cases:

        async def page(where: h.SyncFilter = where, cursor: str | None = cursor) -> int:
            return len((await store.list_syncs(where, cursor=cursor, limit=100)).items)

        sql = querying.syncs(where, after=middle if cursor else None, limit=101)

        async def rows(sql: querying.Query = sql) -> int:
            return len(await admin.fetch(sql.sql, *sql.args))

        rows_shown, p50, p99 = await _time(page, size.query_repeats)
        _, sql_p50, _ = await _time(rows, size.query_repeats)
        figures.append(QueryFigures(name, p50, p99, sql_p50, rows_shown))
    return tuple(figures)


async def _measure_delivery(
    store: postgresql.PostgresHistory, size: Size
) -> tuple[DeliveryFigures, ...]:
    end = START + timedelta(seconds=size.seeded_rows + 1)
    day = end - timedelta(days=1)
    cluster = ClusterName("cluster-0042")
    cases = [
        ("last day, fleet", h.DeliveryQuery(since=day, until=end)),
        (
            "last day, per cluster",
            h.DeliveryQuery(since=day, until=end, by=h.DeliveryGroup.CLUSTER),
        ),
        ("last day, per bundle", h.DeliveryQuery(since=day, until=end, by=h.DeliveryGroup.BUNDLE)),
        ("last day, one bundle", h.DeliveryQuery(since=day, until=end, bundle=BundleName("web"))),
        ("whole table, one cluster", h.DeliveryQuery(since=START, until=end, cluster=cluster)),
        (
            "whole table, per cluster",
            h.DeliveryQuery(since=START, until=end, by=h.DeliveryGroup.CLUSTER),
        ),
        (
            "whole table, per bundle",
            h.DeliveryQuery(since=START, until=end, by=h.DeliveryGroup.BUNDLE),
        ),
    ]
    figures = []
    for name, query in cases:

        async def measure(query: h.DeliveryQuery = query) -> int:
            return (await store.delivery_metrics(query)).total.deployments

        deployments, samples = await _samples(measure, size.delivery_repeats)
        figures.append(DeliveryFigures(name, statistics.median(samples), max(samples), deployments))
    return tuple(figures)


async def _time(query: Callable[[], Awaitable[int]], repeats: int) -> tuple[int, float, float]:
    """Rows the query returns, and its p50 and p99 in milliseconds."""
    rows, samples = await _samples(query, repeats)
    p99 = samples[min(len(samples) - 1, round(len(samples) * 0.99))]
    return rows, statistics.median(samples), p99


async def _samples(query: Callable[[], Awaitable[int]], repeats: int) -> tuple[int, list[float]]:
    """Rows the query returns, and its times in milliseconds, sorted."""
    rows = await query()  # warm the plan cache and the pages
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await query()
        samples.append((time.perf_counter() - started) * 1000)
    return rows, sorted(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks history_store")
    parser.add_argument("--quick", action="store_true", help="a small run, for the tests")
    parser.add_argument(
        "--url",
        default=os.environ.get("FLEET_TEST_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL to measure against (default: $FLEET_TEST_DATABASE_URL or local)",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.url, QUICK if args.quick else FULL))
    command = "python -m benchmarks history_store" + (" --quick" if args.quick else "")
    text = f"`{command}`; {reporting.machine()}.\n\n" + report.table()
    print(text)
    if not args.quick:
        reporting.rewrite_section(reporting.BENCHMARKS_PAGE, "history_store", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
