"""Every kind of history query reads its index, on the first page and deep down.

The tables are filled by SQL (20,000 rows each: fast enough for a planner test, large
enough that a sequential scan would be the planner's choice if no index served; 1,000
clusters, 100 bundles, 100 field managers, so that a filter on one of them is selective
as in a real fleet), and each query the store would send is put through ``EXPLAIN``. A
query that the schema has no index for shows up here as a "Seq Scan" before it shows up as
a slow page.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from fleet.store import delivering, paging, querying
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName
from tests.store import records
from tests.store.conftest import NOW
from tests.support import database as db

ROWS = 20_000
MIDDLE = NOW + timedelta(seconds=ROWS // 2)
BY_ID = paging.Position(MIDDLE, (str(uuid.UUID(int=2**127)),))
BY_REVISION = paging.Position(MIDDLE, (records.REPOSITORY, "8" * 40))


async def _seed(database: db.Database) -> None:
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
        ROWS,
    )
    await database.admin.execute(
        f"""
        INSERT INTO "{schema}".sync_bundles
        SELECT id, bundle, cluster, revision, result, finished_at, trigger, 0, 1, 7, 0, 0, 0
        FROM "{schema}".syncs, unnest(ARRAY['base', 'web']) AS bundle
        """
    )
    await database.admin.execute(
        f"""
        INSERT INTO "{schema}".drift
        SELECT gen_random_uuid(), 'cluster-' || (n % 1000), 'bundle-' || (n % 100),
               'apps', (ARRAY['Deployment', 'ConfigMap', 'Service'])[n % 3 + 1],
               'ns-' || (n % 50), 'object-' || (n % 2000), ARRAY['spec.replicas'],
               'manager-' || (n % 100),
               'update', CASE WHEN n % 10 = 0 THEN 'observed' ELSE 'reverted' END,
               md5((n / 3000)::text), $1::timestamptz + n * interval '1 second', NULL
        FROM generate_series(1, $2) AS n
        """,
        NOW,
        ROWS,
    )
    await database.admin.execute(
        f"""
        INSERT INTO "{schema}".revisions
        SELECT (ARRAY[$3, 'https://git.example.com/a.git', 'https://git.example.com/b.git'])
                   [n % 3 + 1],
               md5(n::text) || substr(md5(n::text), 1, 8),
               (ARRAY['refs/heads/main', 'refs/heads/release'])[n % 2 + 1],
               'Ada', 'ada@example.com', $1::timestamptz + n * interval '1 second', 'change',
               $1::timestamptz + n * interval '1 second'
        FROM generate_series(1, $2) AS n
        """,
        NOW,
        ROWS,
        records.REPOSITORY,
    )
    tables = ", ".join(f'"{schema}".{table}' for table in ("syncs", "sync_bundles", "drift"))
    await database.admin.execute(f'ANALYZE {tables}, "{schema}".revisions')


SYNCS = [
    (h.SyncFilter(), "syncs_page"),
    (h.SyncFilter(cluster=ClusterName("cluster-7")), "syncs_cluster"),
    (h.SyncFilter(revision=records.SHA_A), "syncs_revision"),
    (h.SyncFilter(result=h.SyncResult.FAILED), "syncs_result"),
    (h.SyncFilter(bundle=BundleName("web")), "sync_bundles_page"),
    (h.SyncFilter(since=NOW, until=NOW + timedelta(hours=1)), "syncs_page"),
]
DRIFT = [
    (h.DriftFilter(), "drift_page"),
    (h.DriftFilter(cluster=ClusterName("cluster-7")), "drift_cluster"),
    (h.DriftFilter(bundle=BundleName("bundle-7")), "drift_bundle"),
    (h.DriftFilter(name="object-7"), "drift_object"),
    (h.DriftFilter(kind="ConfigMap", namespace="ns-7", name="object-7"), "drift_object"),
    (h.DriftFilter(field_manager="manager-7"), "drift_field_manager"),
    (h.DriftFilter(since=NOW, until=NOW + timedelta(hours=1)), "drift_page"),
]
REVISIONS = [
    (h.RevisionFilter(), "revisions_page"),
    (h.RevisionFilter(repository=records.REPOSITORY), "revisions_page"),
    (h.RevisionFilter(ref="refs/heads/main"), "revisions_page"),
    (h.RevisionFilter(since=NOW, until=NOW + timedelta(hours=1)), "revisions_page"),
]

RECENT = NOW + timedelta(seconds=ROWS - 600)
DELIVERY = [
    # The last minutes (3% of the table), a cluster, a bundle: each reads an index, never a
    # whole table. (A range reads every record from `since` on: later ones judge it.) Every
    # bundle of every cluster over a range is left out on purpose: sync_bundles has no
    # index by time, and the planner may rightly read it whole rather than look up each
    # sync's bundles; benchmarks/history_store.py measures that query.
    h.DeliveryQuery(since=RECENT, until=RECENT + timedelta(minutes=10)),
    h.DeliveryQuery(since=MIDDLE, until=RECENT, cluster=ClusterName("cluster-7")),
    h.DeliveryQuery(
        since=MIDDLE, until=RECENT, bundle=BundleName("web"), cluster=ClusterName("cluster-7")
    ),
    h.DeliveryQuery(
        since=MIDDLE, until=RECENT, by=h.DeliveryGroup.BUNDLE, cluster=ClusterName("cluster-7")
    ),
]


def _queries() -> Iterator[tuple[object, querying.Query, str]]:
    for sync_filter, index in SYNCS:
        for after in (None, BY_ID):
            yield sync_filter, querying.syncs(sync_filter, after=after, limit=101), index
    for drift_filter, index in DRIFT:
        for after in (None, BY_ID):
            yield drift_filter, querying.drift(drift_filter, after=after, limit=101), index
    for revision_filter, index in REVISIONS:
        for after in (None, BY_REVISION):
            query = querying.revisions(revision_filter, after=after, limit=101)
            yield revision_filter, query, index
    for delivery in DELIVERY:
        # Its records come from syncs by time or by cluster; each track's deployed revision at
        # `since` from the partial index of records that could deploy.
        statement = delivering.statement(delivery)
        yield delivery, statement, "syncs_cluster" if delivery.cluster else "syncs_page"
        bundles = delivery.unit is h.DeliveryUnit.BUNDLE
        yield (
            delivery,
            statement,
            "sync_bundles_track_deploying" if bundles else "syncs_cluster_deploying",
        )


@pytest.mark.usefixtures("postgres_store")  # the store has migrated the schema
async def test_every_query_reads_its_index_not_the_whole_table(database: db.Database) -> None:
    await _seed(database)
    await database.admin.execute(f'SET search_path TO "{database.schema}"')
    for where, query, index in _queries():
        plan = await database.admin.fetchval(f"EXPLAIN (FORMAT JSON) {query.sql}", *query.args)
        nodes = list(_nodes(json.loads(plan)[0]["Plan"]))
        assert index in {node.get("Index Name") for node in nodes}, (where, query.args, nodes)
        read_whole = {node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}
        # Delivery metrics hash the commit times of every revision (one row per commit,
        # small next to the syncs) rather than look one up per deployment.
        allowed = {"revisions"} if isinstance(where, h.DeliveryQuery) else set()
        assert read_whole <= allowed, (where, nodes)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)
