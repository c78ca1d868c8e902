"""The history benchmark's quick mode runs, measures every figure, and cleans up after itself."""

from __future__ import annotations

from benchmarks import history_store
from tests.support import database as db


async def test_quick_mode_reports_every_figure_and_drops_its_schema(
    database: db.Database,
) -> None:
    report = await history_store.run(database.url, history_store.QUICK)
    size = history_store.QUICK
    assert report.writes.syncs == size.clusters * size.syncs_per_cluster
    assert report.writes.rows_per_second > 0
    assert [q.rows for q in report.queries if q.name.startswith("first page, no filter")] == [100]
    assert all(q.p50_ms <= q.p99_ms for q in report.queries)
    assert len(report.delivery) == 7
    assert all(d.p50_ms <= d.max_ms for d in report.delivery)
    delivered = {d.name: d.deployments for d in report.delivery}
    # Every bundle of a seeded or written sync is at the sync's revision and result.
    assert delivered["whole table, per bundle"] == 5 * delivered["whole table, per cluster"] > 0
    table = report.table()
    assert "| syncs per second |" in table
    assert "| deep page (middle), cluster |" in table
    assert "| whole table, per bundle |" in table
    leftover = await database.admin.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname = $1", report.schema
    )
    assert leftover == 0
