"""Status API: latency of ``GET /api/v1/syncs`` through HTTP over a million syncs.

The history benchmark times `list_syncs`, the store's part of an answer. This one asks
the question as a client does: the real application (middlewares, parameter parsing,
JSON encoding) served by the real server on 127.0.0.1, a keep-alive aiohttp client, and
PostgreSQL behind it with a million syncs seeded as `benchmarks.history_store` seeds
them. Each query is timed through HTTP (p50, p99) and, for comparison, as the store call
alone, so the difference is what HTTP and JSON cost. Client and server share one process
and one event loop on the same two cores, so the figures include the client's own work.

``python -m benchmarks api`` runs the full size and rewrites its section of
docs/benchmarks.md; ``--quick`` runs a small one, which the test suite does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import asyncpg
from prometheus_client import CollectorRegistry

from benchmarks import history_store, reporting
from fleet.api import probing, serving, webhooks
from fleet.store import paging, postgresql
from fleet.structs import fleetview as fv
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName
from fleet.structs.settings import ApiSettings, HistorySettings, Secret, WebhookSettings


@dataclass(frozen=True, slots=True)
class Size:
    seeded_rows: int
    repeats: int


FULL = Size(seeded_rows=1_000_000, repeats=200)
QUICK = Size(seeded_rows=5_000, repeats=5)


@dataclass(frozen=True, slots=True)
class Figures:
    name: str
    p50_ms: float
    p99_ms: float
    store_p50_ms: float  # list_syncs alone, without HTTP and JSON
    rows: int
    kib: float  # size of the answer


@dataclass(frozen=True, slots=True)
class Report:
    size: Size
    schema: str  # where it was measured; dropped afterwards
    figures: tuple[Figures, ...]

    def table(self) -> str:
        lines = [
            f"`GET /api/v1/syncs` through HTTP (100 per page) over {self.size.seeded_rows:,}"
            " syncs in PostgreSQL",
            "",
            "| query | p50 | p99 | `list_syncs` alone, p50 | rows | answer |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {f.name} | {f.p50_ms:.2f} ms | {f.p99_ms:.2f} ms | {f.store_p50_ms:.2f} ms"
            f" | {f.rows} | {f.kib:.0f} KiB |"
            for f in self.figures
        ]
        return "\n".join(lines)


class _NoFleet:
    """The fleet endpoints are not measured here; an empty fleet stands behind them."""

    def source(self) -> fv.SourceView:
        return fv.SourceView(repository="", branch="main")

    def clusters(self) -> Sequence[fv.ClusterView]:
        return ()

    def cluster(self, name: ClusterName) -> fv.ClusterView | None:
        return None

    def request_sync(self, name: ClusterName) -> bool:
        return False


class _NoMirrors:
    def trigger(self, urls: Iterable[str]) -> tuple[str, ...]:
        return ()


async def run(url: str, size: Size) -> Report:
    """Measure in a fresh schema of the database at ``url``; the schema is dropped after."""
    schema = f"fleet_bench_{uuid.uuid4().hex[:12]}"
    settings = HistorySettings(
        database_url=Secret(url), schema=schema, application_name="fleet-bench"
    )
    admin = await asyncpg.connect(url, timeout=10)
    store = postgresql.PostgresHistory(settings, registry=CollectorRegistry())
    try:
        await store.start()  # creates the schema
        await history_store.seed(admin, schema, size.seeded_rows)
        figures = await _measure(store, size)
    finally:
        await store.close()
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
    return Report(size=size, schema=schema, figures=figures)


async def _measure(store: h.HistoryStore, size: Size) -> tuple[Figures, ...]:
    registry = CollectorRegistry()
    api = ApiSettings(listen="127.0.0.1:0")
    app = serving.application(
        api,
        fleet=_NoFleet(),
        history_store=store,
        webhook=webhooks.GitWebhook(WebhookSettings(), trigger=_NoMirrors(), registry=registry),
        readiness=probing.Readiness(),
        registry=registry,
    )
    start = history_store.START
    middle = paging.Position(
        start + timedelta(seconds=size.seeded_rows // 2), (str(uuid.UUID(int=0)),)
    )
    deep = paging.encode(paging.Table.SYNCS, middle)
    last_day = (start + timedelta(seconds=size.seeded_rows) - timedelta(days=1)).isoformat()
    cases: list[tuple[str, dict[str, str], h.SyncFilter]] = [
        ("first page, no filter", {}, h.SyncFilter()),
        (
            "first page, cluster",
            {"cluster": "cluster-0042"},
            h.SyncFilter(cluster=ClusterName("cluster-0042")),
        ),
        ("first page, bundle", {"bundle": "web"}, h.SyncFilter(bundle=BundleName("web"))),
        (
            "first page, result=failed",
            {"result": "failed"},
            h.SyncFilter(result=h.SyncResult.FAILED),
        ),
        (
            "first page, cluster + last day",
            {"cluster": "cluster-0042", "since": last_day},
            h.SyncFilter(
                cluster=ClusterName("cluster-0042"),
                since=start + timedelta(seconds=size.seeded_rows) - timedelta(days=1),
            ),
        ),
        ("deep page (middle), no filter", {"cursor": deep}, h.SyncFilter()),
        (
            "deep page (middle), cluster",
            {"cluster": "cluster-0042", "cursor": deep},
            h.SyncFilter(cluster=ClusterName("cluster-0042")),
        ),
        (
            "deep page (middle), bundle",
            {"bundle": "web", "cursor": deep},
            h.SyncFilter(bundle=BundleName("web")),
        ),
    ]
    figures = []
    async with (
        serving.ApiServer(app, api) as server,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
    ):
        for name, params, where in cases:
            sample = await _get(session, f"{server.url}/api/v1/syncs", params)
            rows = len(sample)

            async def over_http(params: Mapping[str, str] = params) -> None:
                await _get(session, f"{server.url}/api/v1/syncs", params)

            async def alone(
                where: h.SyncFilter = where, cursor: str | None = params.get("cursor")
            ) -> None:
                await store.list_syncs(where, cursor=cursor, limit=100)

            p50, p99 = await _time(over_http, size.repeats)
            store_p50, _ = await _time(alone, size.repeats)
            kib = await _size(session, f"{server.url}/api/v1/syncs", params)
            figures.append(Figures(name, p50, p99, store_p50, rows, kib))
    return tuple(figures)


async def _get(session: aiohttp.ClientSession, url: str, params: Mapping[str, str]) -> list[object]:
    async with session.get(url, params=params) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} {dict(params)}: {response.status} {await response.text()}")
        body = await response.json()
    items: list[object] = body["items"]
    return items


async def _size(session: aiohttp.ClientSession, url: str, params: Mapping[str, str]) -> float:
    async with session.get(url, params=params) as response:
        return len(await response.read()) / 1024


async def _time(call: Callable[[], Awaitable[None]], repeats: int) -> tuple[float, float]:
    """p50 and p99 of ``call`` in milliseconds, after one call to warm caches."""
    await call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(len(samples) * 0.99))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks api")
    parser.add_argument("--quick", action="store_true", help="a small run, for the tests")
    parser.add_argument(
        "--url",
        default=os.environ.get("FLEET_TEST_DATABASE_URL", history_store.DEFAULT_URL),
        help="PostgreSQL to measure against (default: $FLEET_TEST_DATABASE_URL or local)",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.url, QUICK if args.quick else FULL))
    command = "python -m benchmarks api" + (" --quick" if args.quick else "")
    text = f"`{command}`; {reporting.machine()}.\n\n" + report.table()
    print(text)
    if not args.quick:
        reporting.rewrite_section(reporting.BENCHMARKS_PAGE, "api", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
