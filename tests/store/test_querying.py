"""Every record type round-trips through every filter and every page, on both backends.

One table of cases runs against PostgreSQL and memory alike (the `store` fixture is
parametrized), and each case is checked against a plain list comprehension over the same
records: what the API would show, in the order it would show it, split into pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from fleet.store import paging
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision
from tests.store import records
from tests.store.conftest import NOW

HOUR = timedelta(hours=1)
DAY_AGO = NOW - 24 * HOUR

SYNCS = [
    records.sync(
        cluster=cluster,
        at=DAY_AGO + n * HOUR,
        revision=records.SHA_A if n < 4 else records.SHA_B,
        result=[h.SyncResult.SUCCEEDED, h.SyncResult.FAILED, h.SyncResult.PARTIAL][n % 3],
        trigger=h.SyncTrigger.DRIFT if n == 5 else h.SyncTrigger.COMMIT,
        bundles=("base", "web") if cluster != "us-1" else ("base", "db"),
        error=None if n % 3 == 0 else f"apply failed on {cluster}",
    )
    for n in range(8)
    for cluster in ("eu-1", "eu-2", "us-1")
] + [
    # Same finish time as others: pages must still split them without loss or repeats.
    records.sync(cluster="eu-1", at=DAY_AGO + 3 * HOUR, bundles=()),
    records.sync(cluster="eu-1", at=DAY_AGO + 3 * HOUR, result=h.SyncResult.BLOCKED),
]

SECRET = ObjectKey("", "Secret", "shop", "db")
DRIFT = [
    records.drift(
        cluster=["eu-1", "us-1"][n % 2],
        at=DAY_AGO + n * HOUR / 2,
        bundle="web" if n % 3 else "db",
        key=records.DEPLOYMENT if n % 4 else SECRET,
        manager=["kubectl-edit", "helm", None][n % 3],
        action=h.DriftAction.OBSERVED if n % 5 == 0 else h.DriftAction.REVERTED,
    )
    for n in range(20)
]

FORK = "https://git.example.com/someone/fleet.git"
REVISIONS = [
    records.revision(
        sha=Revision(f"{n:040x}"),
        at=DAY_AGO + (n // 2) * HOUR,  # two commits per hour: ties on time
        ref="refs/heads/main" if n % 3 else "refs/heads/release",
        repository=records.REPOSITORY if n < 7 else FORK,
    )
    for n in range(10)
] + [records.revision(sha=Revision("0" * 40), at=DAY_AGO, repository=FORK)]


@dataclass(frozen=True)
class Case:
    name: str
    where: h.SyncFilter | h.DriftFilter | h.RevisionFilter
    expected: Callable[[Any], bool]


CASES = [
    Case("syncs-all", h.SyncFilter(), lambda r: True),
    Case("syncs-cluster", h.SyncFilter(cluster=ClusterName("eu-2")), lambda r: r.cluster == "eu-2"),
    Case(
        "syncs-bundle",
        h.SyncFilter(bundle=BundleName("db")),
        lambda r: "db" in [b.name for b in r.bundles],
    ),
    Case(
        "syncs-bundle-cluster",
        h.SyncFilter(bundle=BundleName("web"), cluster=ClusterName("eu-1")),
        lambda r: "web" in [b.name for b in r.bundles] and r.cluster == "eu-1",
    ),
    Case(
        "syncs-revision",
        h.SyncFilter(revision=records.SHA_B),
        lambda r: r.revision == records.SHA_B,
    ),
    Case(
        "syncs-result",
        h.SyncFilter(result=h.SyncResult.FAILED),
        lambda r: r.result == h.SyncResult.FAILED,
    ),
    Case(
        "syncs-trigger",
        h.SyncFilter(trigger=h.SyncTrigger.DRIFT),
        lambda r: r.trigger == h.SyncTrigger.DRIFT,
    ),
    Case(
        "syncs-time-range",
        h.SyncFilter(since=DAY_AGO + 2 * HOUR, until=DAY_AGO + 5 * HOUR),
        lambda r: DAY_AGO + 2 * HOUR <= r.finished_at < DAY_AGO + 5 * HOUR,
    ),
    Case(
        "syncs-everything-at-once",
        h.SyncFilter(
            cluster=ClusterName("us-1"),
            bundle=BundleName("base"),
            result=h.SyncResult.SUCCEEDED,
            since=DAY_AGO + HOUR,
        ),
        lambda r: (
            r.cluster == "us-1"
            and r.result == h.SyncResult.SUCCEEDED
            and r.finished_at >= DAY_AGO + HOUR
        ),
    ),
    Case("drift-all", h.DriftFilter(), lambda r: True),
    Case(
        "drift-cluster", h.DriftFilter(cluster=ClusterName("us-1")), lambda r: r.cluster == "us-1"
    ),
    Case("drift-bundle", h.DriftFilter(bundle=BundleName("db")), lambda r: r.bundle == "db"),
    Case(
        "drift-object",
        h.DriftFilter(kind="Secret", namespace="shop", name="db"),
        lambda r: r.key == SECRET,
    ),
    Case("drift-name", h.DriftFilter(name="web"), lambda r: r.key.name == "web"),
    Case(
        "drift-field-manager",
        h.DriftFilter(field_manager="helm"),
        lambda r: r.field_manager == "helm",
    ),
    Case(
        "drift-action",
        h.DriftFilter(action=h.DriftAction.OBSERVED),
        lambda r: r.action == h.DriftAction.OBSERVED,
    ),
    Case(
        "drift-time-range",
        h.DriftFilter(since=DAY_AGO + 3 * HOUR, until=NOW),
        lambda r: r.observed_at >= DAY_AGO + 3 * HOUR,
    ),
    Case("revisions-all", h.RevisionFilter(), lambda r: True),
    Case(
        "revisions-repository",
        h.RevisionFilter(repository="https://token@git.example.com/someone/fleet.git"),
        lambda r: r.repository == FORK,
    ),
    Case(
        "revisions-ref",
        h.RevisionFilter(ref="refs/heads/release"),
        lambda r: r.ref == "refs/heads/release",
    ),
    Case(
        "revisions-time-range",
        h.RevisionFilter(since=DAY_AGO + HOUR, until=DAY_AGO + 3 * HOUR),
        lambda r: DAY_AGO + HOUR <= r.committed_at < DAY_AGO + 3 * HOUR,
    ),
]


def _newest_first(record: Any) -> tuple[Any, ...]:
    # Written out here rather than taken from paging.position: the test states the order.
    if isinstance(record, h.SyncRecord):
        return (record.finished_at, str(record.id))
    if isinstance(record, h.DriftRecord):
        return (record.observed_at, str(record.id))
    return (record.committed_at, record.repository, record.sha)


async def _list(
    store: h.HistoryStore, where: Any, *, cursor: str | None, limit: int
) -> h.Page[Any]:
    if isinstance(where, h.SyncFilter):
        return await store.list_syncs(where, cursor=cursor, limit=limit)
    if isinstance(where, h.DriftFilter):
        return await store.list_drift(where, cursor=cursor, limit=limit)
    return await store.list_revisions(where, cursor=cursor, limit=limit)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_filters_and_pages_return_exactly_the_matching_records(
    store: h.HistoryStore, case: Case
) -> None:
    await records.keep(store, syncs=SYNCS, drift=DRIFT, revisions=REVISIONS)
    population: dict[type, list[Any]] = {
        h.SyncFilter: SYNCS,
        h.DriftFilter: DRIFT,
        h.RevisionFilter: REVISIONS,
    }
    seeded: list[Any] = population[type(case.where)]
    expected = sorted(filter(case.expected, seeded), key=_newest_first, reverse=True)
    assert expected, "a case must match something to test anything"

    whole = await _list(store, case.where, cursor=None, limit=h.MAX_PAGE_SIZE)
    assert list(whole.items) == expected
    assert whole.next_cursor is None

    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        page = await _list(store, case.where, cursor=cursor, limit=3)
        pages.append(list(page.items))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [record for items in pages for record in items] == expected
    assert all(len(items) == 3 for items in pages[:-1])


async def test_a_record_sent_twice_is_kept_once(store: h.HistoryStore) -> None:
    sync = records.sync(at=NOW)
    revision = records.revision(sha=records.SHA_A, at=NOW)
    for _ in range(2):
        store.record_sync(sync)
        store.record_revision(revision)
    await store.flush()
    assert (await store.list_syncs(h.SyncFilter())).items == (sync,)
    assert (await store.list_revisions(h.RevisionFilter())).items == (revision,)


async def test_bad_cursors_and_page_sizes_are_refused_alike(store: h.HistoryStore) -> None:
    drift_cursor = paging.encode(paging.Table.DRIFT, paging.position(DRIFT[0]))
    with pytest.raises(errors.HistoryQueryError, match="does not belong to /syncs"):
        await store.list_syncs(h.SyncFilter(), cursor=drift_cursor)
    with pytest.raises(errors.HistoryQueryError, match="page size"):
        await store.list_revisions(h.RevisionFilter(), limit=0)


async def test_rows_recorded_between_pages_neither_repeat_nor_shift_the_next_page(
    store: h.HistoryStore,
) -> None:
    shown = [records.sync(at=NOW + timedelta(seconds=n)) for n in range(10)]
    await records.keep(store, syncs=shown)
    first = await store.list_syncs(h.SyncFilter(), limit=4)
    assert first.items == tuple(reversed(shown[6:]))

    newer = records.sync(at=NOW + timedelta(minutes=5))  # above the cursor: not on page two
    late = records.sync(at=NOW + timedelta(seconds=3.5))  # a long sync, finished meanwhile
    await records.keep(store, syncs=[newer, late])
    second = await store.list_syncs(h.SyncFilter(), cursor=first.next_cursor, limit=4)
    assert second.items == (shown[5], shown[4], late, shown[3])


def _every_kind_of_sync(n: int, trigger: h.SyncTrigger, result: h.SyncResult) -> h.SyncRecord:
    outcomes = tuple(
        h.BundleOutcome(
            name=BundleName(f"bundle-{n}-{b}"),
            revision=Revision(f"{n + b:064x}"),  # a pinned bundle, of a SHA-256 repository
            result=bundle_result,
            counts=h.ObjectCounts(
                created=1, configured=2, unchanged=3, deleted=4, skipped=5, failed=6 + n
            ),
            error=None if bundle_result is h.SyncResult.SUCCEEDED else f"«{bundle_result}» ✗",
        )
        for b, bundle_result in enumerate(h.SyncResult)
    )
    return h.SyncRecord(
        cluster=ClusterName(f"cluster-{n}"),
        revision=Revision(f"{n:040x}"),
        trigger=trigger,
        result=result,
        started_at=NOW + timedelta(minutes=n, microseconds=1),
        finished_at=NOW + timedelta(minutes=n, seconds=59, microseconds=999_999),
        bundles=outcomes if n % 2 else (),
        error=None if n % 3 else "error: ünïcödé and 'quotes' and \"more\"\nline two",
        trace_id=None if n % 4 == 1 else f"{n:032x}",
    )


async def test_every_value_of_every_field_round_trips(store: h.HistoryStore) -> None:
    # Every enumeration member, every optional field both empty and set, text that is not
    # ASCII, sub-second times: what comes back is equal, field by field, to what went in.
    syncs = [
        _every_kind_of_sync(n, trigger, result)
        for n, (trigger, result) in enumerate(
            (trigger, result) for trigger in h.SyncTrigger for result in h.SyncResult
        )
    ]
    drift = [
        h.DriftRecord(
            cluster=ClusterName("eu-1"),
            bundle=BundleName("web"),
            key=ObjectKey("apps" if n % 2 else "", "Deployment", "shop" if n % 3 else "", "web"),
            fields=() if operation is h.DriftOperation.DELETE else ("spec.replicas", "data.ключ"),
            field_manager=None if n % 2 else "kubectl-client-side-apply",
            operation=operation,
            action=action,
            revision=records.SHA_A,
            observed_at=NOW + timedelta(seconds=n, microseconds=n),
            trace_id=f"{n:032x}" if n % 2 else None,
        )
        for n, (operation, action) in enumerate(
            (operation, action) for operation in h.DriftOperation for action in h.DriftAction
        )
    ]
    revisions = [
        records.revision(sha=records.SHA_A, at=NOW),
        h.RevisionRecord(
            sha=Revision("c" * 64),
            repository="ssh://git@git.example.com:2222/platform/fleet.git",
            ref="refs/tags/v1.0",
            author_name="Zoë Ø'Brien",
            author_email="zoe@example.com",
            committed_at=NOW - timedelta(microseconds=1),
            message="",
            first_seen_at=NOW,
        ),
    ]
    await records.keep(store, syncs=syncs, drift=drift, revisions=revisions)

    limit = h.MAX_PAGE_SIZE
    assert (await store.list_syncs(h.SyncFilter(), limit=limit)).items == tuple(reversed(syncs))
    assert (await store.list_drift(h.DriftFilter(), limit=limit)).items == tuple(reversed(drift))
    assert (await store.list_revisions(h.RevisionFilter())).items == (
        revisions[0],
        revisions[1],
    )
