"""Delivery metrics: one table of small histories, each with its figures worked out by hand.

Every case runs against PostgreSQL (one SQL statement) and memory (a walk in Python), so
the two definitions cannot drift apart. Times are minutes after T; revision R1 was
committed an hour before T, R2 half an hour before, and R3's commit was never recorded.
Records are as the engine writes them (fleet/engine/reports.py, ``Controller._reported``):
a sync is commit-triggered and changes one object per bundle unless a case says otherwise.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from fleet.store import delivering
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName, Revision
from tests.store import records
from tests.store.conftest import NOW
from tests.support import database as db

T = NOW
R1, R2, R3 = Revision("1" * 40), Revision("2" * 40), Revision("3" * 40)
COMMITTED = {R1: T - timedelta(minutes=60), R2: T - timedelta(minutes=30)}
DAY = 24 * 60

OK, FAILED = h.SyncResult.SUCCEEDED, h.SyncResult.FAILED
PARTIAL, BLOCKED = h.SyncResult.PARTIAL, h.SyncResult.BLOCKED
RETRY, RESYNC = h.SyncTrigger.RETRY, h.SyncTrigger.RESYNC
DRIFT, MANUAL = h.SyncTrigger.DRIFT, h.SyncTrigger.MANUAL
CHANGED = h.ObjectCounts(configured=1, unchanged=6)
QUIET = h.ObjectCounts(unchanged=7)  # everything was already as desired
WAITING = h.ObjectCounts()  # not applied: a dependency is not ready yet
UNREACHABLE = "cluster eu-1: unreachable: connection refused"


def bundle(
    name: str, revision: Revision, result: h.SyncResult = OK, counts: h.ObjectCounts = CHANGED
) -> h.BundleOutcome:
    return h.BundleOutcome(name=BundleName(name), revision=revision, result=result, counts=counts)


def sync(
    minute: float,
    revision: Revision,
    result: h.SyncResult,
    *,
    cluster: str = "eu-1",
    trigger: h.SyncTrigger = h.SyncTrigger.COMMIT,
    counts: h.ObjectCounts = CHANGED,
    error: str | None = None,
    bundles: tuple[h.BundleOutcome, ...] | None = None,
    id: int | None = None,
) -> h.SyncRecord:
    """A sync at T + ``minute``; its bundles ``base`` and ``web`` as the sync unless given."""
    plain = records.sync(
        cluster=cluster,
        at=T + timedelta(minutes=minute),
        revision=revision,
        result=result,
        trigger=trigger,
        error=error,
        id=uuid.UUID(int=id) if id is not None else None,
    )
    if bundles is None:
        bundles = tuple(bundle(b.name, revision, result, counts) for b in plain.bundles)
    return dataclasses.replace(plain, bundles=bundles)


@dataclass(frozen=True)
class Figures:
    """Expected figures, in minutes; the derived ones are computed as the docs define them."""

    deployments: int
    lead: float | None = None  # median lead time
    failed: int = 0
    restored: int = 0
    restore: float | None = None  # median time to restore
    lead_times: int | None = None  # deployments with a known commit time; all by default
    cluster: str | None = None
    bundle: str | None = None

    def metrics(self, days: float) -> h.DeliveryMetrics:
        return h.DeliveryMetrics(
            cluster=ClusterName(self.cluster) if self.cluster else None,
            bundle=BundleName(self.bundle) if self.bundle else None,
            deployments=self.deployments,
            deployments_per_day=self.deployments / days,
            lead_times=self.deployments if self.lead_times is None else self.lead_times,
            lead_time=None if self.lead is None else timedelta(minutes=self.lead),
            failed_deployments=self.failed,
            change_failure_rate=self.failed / self.deployments if self.deployments else None,
            restored=self.restored,
            time_to_restore=None if self.restore is None else timedelta(minutes=self.restore),
        )


@dataclass(frozen=True)
class Case:
    name: str
    syncs: list[h.SyncRecord]
    total: Figures
    groups: list[Figures] = field(default_factory=list)
    cluster: str | None = None
    bundle: str | None = None
    by: h.DeliveryGroup | None = None
    since: float = 0  # minutes after T
    until: float = DAY

    def query(self) -> h.DeliveryQuery:
        return h.DeliveryQuery(
            since=T + timedelta(minutes=self.since),
            until=T + timedelta(minutes=self.until),
            cluster=ClusterName(self.cluster) if self.cluster else None,
            bundle=BundleName(self.bundle) if self.bundle else None,
            by=self.by,
        )


TWO_CLUSTERS = [
    sync(0, R1, OK),
    sync(10, R2, OK),
    sync(5, R1, OK, cluster="us-1"),
    sync(6, R1, FAILED, cluster="us-1"),
    sync(8, R1, OK, cluster="us-1", trigger=RETRY),
]
PINNED_BASE = [
    sync(0, R1, OK, bundles=(bundle("base", R1), bundle("web", R1))),
    sync(10, R2, OK, bundles=(bundle("base", R1, counts=QUIET), bundle("web", R2))),
]
WEB_FAILS = [
    sync(0, R1, OK),
    sync(5, R1, PARTIAL, bundles=(bundle("base", R1, counts=QUIET), bundle("web", R1, FAILED))),
    sync(9, R1, OK, trigger=RETRY),
]
WEB_WAITS = [
    # web depends on base: it waits (succeeded, nothing applied) until base is ready.
    sync(0, R1, OK, bundles=(bundle("base", R1), bundle("web", R1, counts=WAITING))),
    sync(2, R1, OK, bundles=(bundle("base", R1, counts=QUIET), bundle("web", R1))),
]

CASES = [
    Case(
        "the example of docs/history.md",
        [
            sync(0, R1, OK),
            sync(3, R1, OK, counts=QUIET),
            sync(5, R2, FAILED),
            sync(8, R2, FAILED, trigger=RETRY),
            sync(9, R2, OK, trigger=RETRY),
            sync(20, R2, OK, trigger=RESYNC, counts=QUIET),
            sync(25, R2, FAILED, trigger=RETRY, error=UNREACHABLE),
            sync(30, R3, OK, trigger=RESYNC, counts=QUIET),
            sync(35, R3, OK, trigger=DRIFT),
            sync(40, R1, BLOCKED),
        ],
        Figures(2, lead=49.5, failed=1, restored=1, restore=4),
    ),
    Case(
        "a rollout's second row (ready) deploys nothing, a resync neither",
        [sync(0, R1, OK), sync(2, R1, OK, counts=QUIET), sync(10, R1, OK, trigger=RESYNC)],
        Figures(1, lead=60),
    ),
    Case(
        "a revision that changed nothing on the cluster is no deployment",
        [
            sync(0, R1, OK),
            sync(10, R2, OK, trigger=RESYNC, counts=QUIET),  # the commit did not concern it
            sync(20, R2, OK, counts=QUIET),  # after a restart, fleet syncs every cluster
            sync(30, R2, OK, trigger=DRIFT),  # a revert at the new revision
        ],
        Figures(1, lead=60),
    ),
    Case(
        "a commit sync that changed something deploys, so does a manual one",
        [sync(0, R1, OK), sync(10, R2, OK), sync(20, R1, OK, trigger=MANUAL)],
        Figures(3, lead=60),  # 60, 40, 80 minutes: a rollback is a deployment
    ),
    Case(
        "a failure after a deployment, restored by a retry at the same revision",
        [
            sync(0, R1, OK),
            sync(5, R1, FAILED, trigger=DRIFT),
            sync(8, R1, FAILED, trigger=RETRY),
            sync(12, R1, OK, trigger=RETRY),
        ],
        Figures(1, lead=60, failed=1, restored=1, restore=12 - 5),
    ),
    Case(
        "a success that changes nothing restores too",
        [sync(0, R1, OK), sync(5, R1, FAILED, trigger=DRIFT), sync(7, R1, OK, counts=QUIET)],
        Figures(1, lead=60, failed=1, restored=1, restore=2),
    ),
    Case(
        "a new revision that fails counts against the deployment in place",
        [sync(0, R1, OK), sync(5, R2, FAILED), sync(9, R2, OK, trigger=RETRY)],
        Figures(2, lead=(60 + 39) / 2, failed=1, restored=1, restore=9 - 5),
    ),
    Case(
        "an unreachable cluster is no failure of the change",
        [
            sync(0, R1, OK),
            sync(5, R2, FAILED, error=UNREACHABLE, counts=h.ObjectCounts()),
            sync(9, R2, OK, trigger=RETRY),
        ],
        Figures(2, lead=(60 + 39) / 2),
    ),
    Case(
        "blocked is neither a deployment nor a failure",
        [sync(0, R1, OK), sync(5, R2, BLOCKED), sync(10, R1, OK, counts=QUIET)],
        Figures(1, lead=60),
    ),
    Case(
        "partial is a failure; not restored yet",
        [sync(0, R1, OK), sync(3, R1, PARTIAL)],
        Figures(1, lead=60, failed=1),
    ),
    Case(
        "failures before the first deployment belong to no deployment",
        [sync(0, R1, FAILED), sync(4, R1, OK, trigger=RETRY)],
        Figures(1, lead=64),
    ),
    Case(
        "the revision at `since` is the one last deployed before it; later records judge",
        [
            sync(-30, R1, OK),
            sync(-20, R2, FAILED),  # before the range: judges the deployment before it
            sync(-10, R2, OK, trigger=RESYNC, counts=QUIET),  # not deployed: R1 stays
            sync(10, R1, OK, trigger=RETRY),  # not a deployment: R1 was already there
            sync(20, R2, OK),
            sync(DAY + 10, R2, FAILED, trigger=DRIFT),  # past `until`, counts against R2
            sync(DAY + 20, R3, OK),  # a deployment past `until`: not counted, but restores
        ],
        Figures(1, lead=50, failed=1, restored=1, restore=10),
    ),
    Case(
        "a deployment whose commit time is unknown has no lead time",
        [sync(0, R3, OK), sync(10, R1, OK)],
        Figures(2, lead=70, lead_times=1),
    ),
    Case(
        "ties in time are ordered by id, as pages are",
        [sync(0, R1, FAILED, id=1), sync(0, R1, OK, id=2), sync(0, R1, FAILED, id=3)],
        Figures(1, lead=60, failed=1),
    ),
    Case(
        "per cluster",
        TWO_CLUSTERS,
        Figures(3, lead=60, failed=1, restored=1, restore=2),
        groups=[
            Figures(2, lead=50, cluster="eu-1"),
            Figures(1, lead=65, failed=1, restored=1, restore=2, cluster="us-1"),
        ],
        by=h.DeliveryGroup.CLUSTER,
    ),
    Case(
        "one cluster",
        TWO_CLUSTERS,
        Figures(1, lead=65, failed=1, restored=1, restore=2),
        cluster="us-1",
    ),
    Case(
        "per bundle: a bundle that a revision does not change is not deployed by it",
        PINNED_BASE,
        Figures(3, lead=60),  # 60, 60, 40
        groups=[Figures(1, lead=60, bundle="base"), Figures(2, lead=50, bundle="web")],
        by=h.DeliveryGroup.BUNDLE,
    ),
    Case(
        "the same history per cluster counts syncs, not bundles",
        PINNED_BASE,
        Figures(2, lead=50),
        groups=[Figures(2, lead=50, cluster="eu-1")],
        by=h.DeliveryGroup.CLUSTER,
        cluster="eu-1",
    ),
    Case("the failing bundle", WEB_FAILS, Figures(1, 60, 1, 1, 4), bundle="web"),
    Case("the bundle that did not fail", WEB_FAILS, Figures(1, lead=60), bundle="base"),
    Case("the cluster, where partial fails", WEB_FAILS, Figures(1, 60, 1, 1, 4)),
    Case("a waiting bundle deploys when it is applied", WEB_WAITS, Figures(1, 62), bundle="web"),
    Case("the cluster deploys with its first bundle", WEB_WAITS, Figures(1, lead=60)),
    Case(
        "deployments per day over a longer range",
        [sync(0, R1, OK), sync(10, R2, OK), sync(20, R1, OK)],
        Figures(3, lead=60),
        until=2 * DAY,
    ),
    Case(
        "deployments after the range are not counted",
        [sync(0, R1, OK), sync(10, R2, OK)],
        Figures(1, lead=60),
        until=5,
    ),
    Case(
        "nothing in the range", [sync(0, R1, OK)], Figures(0), by=h.DeliveryGroup.CLUSTER, since=1
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_delivery_metrics(store: h.HistoryStore, case: Case) -> None:
    revisions = [records.revision(sha=sha, at=at) for sha, at in COMMITTED.items()]
    await records.keep(store, syncs=case.syncs, revisions=revisions)
    query = case.query()

    report = await store.delivery_metrics(query)

    assert report.unit is query.unit
    assert report.total == case.total.metrics(query.days)
    assert report.groups == tuple(figures.metrics(query.days) for figures in case.groups)


def test_the_unit_is_a_bundle_when_the_query_names_one() -> None:
    since, until = T, T + timedelta(days=1)
    assert h.DeliveryQuery(since=since, until=until).unit is h.DeliveryUnit.CLUSTER
    by_cluster = h.DeliveryQuery(since=since, until=until, by=h.DeliveryGroup.CLUSTER)
    assert by_cluster.unit is h.DeliveryUnit.CLUSTER
    named = h.DeliveryQuery(since=since, until=until, bundle=BundleName("web"))
    assert named.unit is h.DeliveryUnit.BUNDLE
    by_bundle = h.DeliveryQuery(since=since, until=until, by=h.DeliveryGroup.BUNDLE)
    assert by_bundle.unit is h.DeliveryUnit.BUNDLE


def test_a_range_must_run_forwards_and_have_time_zones() -> None:
    with pytest.raises(errors.HistoryQueryError, match="must be before until") as caught:
        h.DeliveryQuery(since=T, until=T)
    assert caught.value.where == "since"
    with pytest.raises(errors.HistoryQueryError, match="has no time zone"):
        h.DeliveryQuery(since=T.replace(tzinfo=None), until=T + timedelta(days=1))


@pytest.mark.parametrize(
    "values",
    [[], [3.0], [4.0, 1.0], [1.0, 9.0, 2.0], [0.1, 0.2], [1e-6, 86_400.000001, 3600.5, 7.25]],
)
async def test_median_is_postgresql_percentile_cont_to_the_last_bit(
    database: db.Database, values: list[float]
) -> None:
    expected = await database.admin.fetchval(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest($1::float8[]) v",
        values,
    )
    assert delivering.median(values) == expected
