"""The API benchmark's quick mode runs, measures every query through HTTP, and cleans up."""

from __future__ import annotations

from benchmarks import api
from tests.support import database as db


async def test_quick_mode_reports_every_query_and_drops_its_schema(database: db.Database) -> None:
    report = await api.run(database.url, api.QUICK)
    names = [figures.name for figures in report.figures]
    assert names[0] == "first page, no filter"
    assert len(names) == len(set(names)) == 8
    assert [f.rows for f in report.figures if f.name.startswith("first page, no filter")] == [100]
    assert all(f.p50_ms <= f.p99_ms and f.kib > 0 for f in report.figures)
    assert "| deep page (middle), bundle |" in report.table()
    leftover = await database.admin.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname = $1", report.schema
    )
    assert leftover == 0
