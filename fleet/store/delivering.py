"""Delivery metrics (DORA), from syncs and revisions: one definition, in SQL and in Python.

The definitions (docs/history.md has them with examples) follow one *track* at a time: a
cluster, or a bundle on a cluster when the query names a bundle. Its records are taken in
(finished_at, id) order, the order of the API's pages. They are written for what the
engine records: a row when a sync changed something or its outcome differs from the
last one, so one rollout is often two succeeded rows (applied and still progressing,
then ready), and a cluster that a commit did not concern moves to the new revision at
its next resync without applying anything.

- A record **could deploy** if it succeeded, its trigger is one of `h.DELIVERY_TRIGGERS`
  (not a drift revert or a resync) and it changed something (`h.ObjectCounts.changes`).
- A **deployment** is such a record at another revision than the one before it that
  could (or the track's first): the first sync that brought the revision. The second row
  of a rollout, a resync, a drift revert are none; a rollback to an older revision is one.
- Its **lead time** is its ``finished_at`` minus the commit time of its revision, from the
  revisions table (unknown, and left out of the median, if fleet never recorded it).
- It **failed** if a record of the track with a result of `h.DELIVERY_FAILURES` follows it
  before the track's next deployment, unless that sync failed as a whole (``error`` set:
  the cluster could not be reached), which says nothing about the change.
- Its **time to restore** runs from that first failure to the next succeeded record of
  the track, which may be a retry at the same revision or the next deployment.

Deployments are counted in ``since <= finished_at < until`` and judged by everything
recorded after them, even past ``until``. The revision a track had deployed at ``since``
is that of its last record before it that could deploy, so a range never needs the whole
history.

PostgreSQL computes all of it in one statement with window functions (`statement`), the
memory store walks each track in Python (`measure`); `tests/store/test_delivering.py` runs
one table of cases against both. Medians are ``percentile_cont(0.5)``, which `median`
repeats exactly, so both backends give the same floats.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from fleet.store import querying
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName, Revision


def _listed(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


def _could_deploy(table: str) -> str:
    # Word for word the predicate of the partial indexes of migration 0002.
    return (
        f"{table}.result = 'succeeded' AND {table}.trigger IN ({_listed(h.DELIVERY_TRIGGERS)})"
        f" AND {table}.created + {table}.configured + {table}.deleted > 0"
    )


def _fails(table: str) -> str:
    return f"{table}.result IN ({_listed(h.DELIVERY_FAILURES)}) AND s.error IS NULL"


# One deployment per row: when, how long from its commit, whether and when it failed and
# was restored. ``{source}`` and ``{baseline}`` choose the unit, ``{scope}`` the filters.
_JUDGED = """
WITH recent AS ({source} {scope}),
baseline AS (
    SELECT t.cluster, t.bundle, p.id, p.revision, p.result, p.finished_at,
           true AS could_deploy, false AS fails
    FROM (SELECT DISTINCT cluster, bundle FROM recent) t
    CROSS JOIN LATERAL ({baseline}) p
),
marked AS (
    SELECT cluster, bundle, id, revision, result, finished_at, fails,
           could_deploy AND lag(revision) OVER candidates IS DISTINCT FROM revision AS deployed
    FROM (SELECT * FROM recent UNION ALL SELECT * FROM baseline) everything
    WINDOW candidates AS (PARTITION BY cluster, bundle, could_deploy ORDER BY finished_at, id)
),
-- An epoch is a deployment and the records after it until the next one; ``failures``
-- counts the track's failures so far.
counted AS (
    SELECT *, count(*) FILTER (WHERE deployed) OVER track AS epoch,
              count(*) FILTER (WHERE fails) OVER track AS failures
    FROM marked
    WINDOW track AS (PARTITION BY cluster, bundle ORDER BY finished_at, id)
),
-- A success with more failures behind it than its epoch's deployment had follows a
-- failure of that epoch: it restores. (The same window again, on rows already in its
-- order: no second sort.)
ordered AS (
    SELECT *, max(failures) FILTER (WHERE deployed) OVER track AS failures_before
    FROM counted
    WINDOW track AS (PARTITION BY cluster, bundle ORDER BY finished_at, id)
),
epochs AS (
    SELECT cluster, bundle, epoch,
           min(finished_at) FILTER (WHERE deployed) AS deployed_at,
           min(revision) FILTER (WHERE deployed) AS revision,
           min(finished_at) FILTER (WHERE fails) AS failed_at,
           min(finished_at) FILTER (WHERE result = 'succeeded' AND failures > failures_before)
               AS restored_within
    FROM ordered WHERE epoch > 0
    GROUP BY cluster, bundle, epoch
),
-- Not restored within its epoch, a failure is restored by the next deployment, if any.
judged AS (
    SELECT cluster, bundle, deployed_at, revision, failed_at,
           CASE WHEN failed_at IS NOT NULL THEN
               coalesce(restored_within,
                        lead(deployed_at) OVER (PARTITION BY cluster, bundle ORDER BY epoch))
           END AS restored_at
    FROM epochs
)
SELECT j.cluster, j.bundle,
       extract(epoch FROM j.deployed_at - c.committed_at)::float8 AS lead,
       j.failed_at IS NOT NULL AS failed,
       extract(epoch FROM j.restored_at - j.failed_at)::float8 AS restore
FROM judged j
-- One SHA is one commit, whichever repository it was seen in.
LEFT JOIN (SELECT sha, min(committed_at) AS committed_at FROM revisions GROUP BY sha) c
    ON c.sha = j.revision
WHERE j.deployed_at >= $1 AND j.deployed_at < $2
"""

# Per unit: the records from ``since`` on, and a track's last record before ``since`` that
# could deploy (one descent of syncs_cluster_deploying or sync_bundles_track_deploying). A
# bundle's records are read by sync: syncs by time or cluster, then sync_bundles by its
# primary key, or sync_bundles_page when the query names the bundle; sync_bundles has no
# index by time.
_SOURCES = {
    h.DeliveryUnit.CLUSTER: (
        "s",
        "SELECT s.cluster, ''::text AS bundle, s.id, s.revision, s.result, s.finished_at,"
        " {could_deploy} AS could_deploy, {fails} AS fails"
        " FROM syncs s WHERE s.finished_at >= $1",
        "SELECT s.id, s.revision, s.result, s.finished_at FROM syncs s"
        " WHERE s.cluster = t.cluster AND s.finished_at < $1 AND {could_deploy}"
        " ORDER BY s.finished_at DESC, s.id DESC LIMIT 1",
    ),
    h.DeliveryUnit.BUNDLE: (
        "x",
        "SELECT x.cluster, x.bundle, x.sync_id AS id, x.revision, x.result, x.finished_at,"
        " {could_deploy} AS could_deploy, {fails} AS fails"
        " FROM syncs s JOIN sync_bundles x ON x.sync_id = s.id"
        # The same time twice, so that the planner may start from either table's index.
        " WHERE s.finished_at >= $1 AND x.finished_at >= $1",
        "SELECT x.sync_id AS id, x.revision, x.result, x.finished_at FROM sync_bundles x"
        " WHERE x.cluster = t.cluster AND x.bundle = t.bundle AND x.finished_at < $1"
        " AND {could_deploy} ORDER BY x.finished_at DESC, x.sync_id DESC LIMIT 1",
    ),
}


@dataclass(frozen=True, slots=True)
class Judged:
    """One deployment in the range, as both backends judge it."""

    cluster: ClusterName
    bundle: BundleName | None
    lead_seconds: float | None
    failed: bool
    restore_seconds: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One record of a track: a sync (cluster unit) or one bundle of a sync (bundle unit)."""

    cluster: ClusterName
    bundle: BundleName | None
    id: uuid.UUID
    revision: Revision
    result: h.SyncResult
    finished_at: datetime
    could_deploy: bool
    fails: bool


@dataclass(frozen=True, slots=True)
class Totals:
    """What the SQL statement sums per group, before it becomes `h.DeliveryMetrics`."""

    deployments: int
    lead_times: int
    lead_median: float | None
    failed: int
    restored: int
    restore_median: float | None


def statement(query: h.DeliveryQuery) -> querying.Query:
    """The SQL for ``query``: a total row (``grouped`` false), then a row per group."""
    table, source, baseline = _SOURCES[query.unit]
    predicates = {"could_deploy": _could_deploy(table), "fails": _fails(table)}
    args: list[object] = [query.since, query.until]
    scope = ""
    for column, value in (("s.cluster", query.cluster), ("x.bundle", query.bundle)):
        if value is not None:
            args.append(value)
            scope += f" AND {column} = ${len(args)}"
    judged = _JUDGED.format(
        source=source.format(**predicates), baseline=baseline.format(**predicates), scope=scope
    )
    if query.by is None:
        key, grouped, sets = "NULL::text", "false", "()"
    else:
        key, grouped, sets = str(query.by), f"GROUPING({query.by}) = 0", f"(), ({query.by})"
    # Only this module's SQL is formatted in; every value is a parameter. Groups are sorted
    # bytewise, as the memory store sorts them.
    sql = f"""
    SELECT {grouped} AS grouped, {key} AS name,
           count(*)::int AS deployments,
           count(lead)::int AS lead_times,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY lead) AS lead_median,
           (count(*) FILTER (WHERE failed))::int AS failed,
           count(restore)::int AS restored,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY restore) AS restore_median
    FROM ({judged}) judged
    GROUP BY GROUPING SETS ({sets})
    ORDER BY 1, {key} COLLATE "C"
    """  # noqa: S608
    return querying.Query(sql=sql, args=tuple(args))


def totals(row: asyncpg.Record) -> Totals:
    """A group's row of the statement, whose columns are named as `Totals`' fields."""
    return Totals(**{name.name: row[name.name] for name in dataclasses.fields(Totals)})


def report(
    query: h.DeliveryQuery, rows: Iterable[tuple[bool, str | None, Totals]]
) -> h.DeliveryReport:
    """The report from rows of (grouped, group name, totals), the total's row first."""
    total = _metrics(query, Totals(0, 0, None, 0, 0, None))
    groups = []
    for grouped, name, totals in rows:
        if not grouped:
            total = _metrics(query, totals)
        elif query.by is h.DeliveryGroup.CLUSTER:
            groups.append(_metrics(query, totals, cluster=ClusterName(name or "")))
        else:
            groups.append(_metrics(query, totals, bundle=BundleName(name or "")))
    return h.DeliveryReport(query=query, total=total, groups=tuple(groups))


def measure(
    query: h.DeliveryQuery, events: Iterable[Event], committed: Mapping[Revision, datetime]
) -> h.DeliveryReport:
    """The same report in Python, from every record of the query's tracks (any order)."""
    tracks: dict[tuple[ClusterName, BundleName | None], list[Event]] = defaultdict(list)
    for event in events:
        tracks[(event.cluster, event.bundle)].append(event)
    judged: list[Judged] = []
    for track in tracks.values():
        track.sort(key=lambda event: (event.finished_at, str(event.id)))
        judged += _judge(query, track, committed)
    groups: dict[str | None, list[Judged]] = defaultdict(list)
    if query.by is not None:
        for deployment in judged:
            name = deployment.cluster if query.by is h.DeliveryGroup.CLUSTER else deployment.bundle
            groups[name].append(deployment)
    rows: list[tuple[bool, str | None, Totals]] = [(False, None, _sum(judged))]
    rows += [(True, name, _sum(groups[name])) for name in sorted(groups, key=str)]
    return report(query, rows)


def events_of(query: h.DeliveryQuery, syncs: Iterable[h.SyncRecord]) -> Iterator[Event]:
    """The records of the query's unit and filters, from syncs (for the memory store)."""
    for sync in syncs:
        if query.cluster is not None and sync.cluster != query.cluster:
            continue
        if query.unit is h.DeliveryUnit.CLUSTER:
            yield _event(sync, None, sync.revision, sync.result, sync.totals)
            continue
        for bundle in sync.bundles:
            if query.bundle is None or bundle.name == query.bundle:
                yield _event(sync, bundle.name, bundle.revision, bundle.result, bundle.counts)


def median(values: Sequence[float]) -> float | None:
    """``percentile_cont(0.5)`` as PostgreSQL computes it, to the last bit."""
    if not values:
        return None
    ordered = sorted(values)
    position = 0.5 * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _event(
    sync: h.SyncRecord,
    bundle: BundleName | None,
    revision: Revision,
    result: h.SyncResult,
    counts: h.ObjectCounts,
) -> Event:
    # What `_could_deploy` and `_fails` say in SQL.
    return Event(
        cluster=sync.cluster,
        bundle=bundle,
        id=sync.id,
        revision=revision,
        result=result,
        finished_at=sync.finished_at,
        could_deploy=result is h.SyncResult.SUCCEEDED
        and sync.trigger in h.DELIVERY_TRIGGERS
        and counts.changes > 0,
        fails=result in h.DELIVERY_FAILURES and sync.error is None,
    )


def _judge(
    query: h.DeliveryQuery, track: Sequence[Event], committed: Mapping[Revision, datetime]
) -> list[Judged]:
    judged: list[Judged] = []
    current: Revision | None = None  # the revision of the track's last record that could deploy
    deployed: Event | None = None  # the deployment whose epoch this is
    failed_at: datetime | None = None  # its first failure, if any
    restored_at: datetime | None = None

    def close() -> None:
        if deployed is None or not query.since <= deployed.finished_at < query.until:
            return
        commit = committed.get(deployed.revision)
        judged.append(
            Judged(
                cluster=deployed.cluster,
                bundle=deployed.bundle,
                lead_seconds=_seconds(deployed.finished_at, commit),
                failed=failed_at is not None,
                restore_seconds=_seconds(restored_at, failed_at),
            )
        )

    for event in track:
        if event.result is h.SyncResult.SUCCEEDED and failed_at is not None:
            restored_at = restored_at or event.finished_at
        if event.could_deploy:
            if event.revision != current:
                close()
                deployed, failed_at, restored_at = event, None, None
            current = event.revision
        elif event.fails and deployed is not None and failed_at is None:
            failed_at = event.finished_at
    close()
    return judged


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


def _sum(judged: Sequence[Judged]) -> Totals:
    leads = [j.lead_seconds for j in judged if j.lead_seconds is not None]
    restores = [j.restore_seconds for j in judged if j.restore_seconds is not None]
    return Totals(
        deployments=len(judged),
        lead_times=len(leads),
        lead_median=median(leads),
        failed=sum(j.failed for j in judged),
        restored=len(restores),
        restore_median=median(restores),
    )


def _metrics(
    query: h.DeliveryQuery,
    totals: Totals,
    *,
    cluster: ClusterName | None = None,
    bundle: BundleName | None = None,
) -> h.DeliveryMetrics:
    deployments = totals.deployments
    return h.DeliveryMetrics(
        cluster=cluster,
        bundle=bundle,
        deployments=deployments,
        deployments_per_day=deployments / query.days,
        lead_times=totals.lead_times,
        lead_time=_duration(totals.lead_median),
        failed_deployments=totals.failed,
        change_failure_rate=totals.failed / deployments if deployments else None,
        restored=totals.restored,
        time_to_restore=_duration(totals.restore_median),
    )


def _duration(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)
