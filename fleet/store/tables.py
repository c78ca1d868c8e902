"""How records become rows and rows become records again, one table at a time.

A batch is written as one ``INSERT ... SELECT FROM unnest(...)`` per table: one round trip
and one statement plan however many rows the batch holds, where ``executemany`` would send a
statement per row. ``ON CONFLICT DO NOTHING`` makes a batch that is written again after a
lost connection (which may or may not have committed) land exactly once.

PostgreSQL text cannot hold NUL characters and would refuse the whole batch for one
error message that contains one, so they are replaced on the way in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from fleet.store import paging
from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision

if TYPE_CHECKING:
    # A connection of its own or one lent by the pool: the same methods either way.
    Connection: TypeAlias = (
        asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
    )

_COUNT_NAMES = ("created", "configured", "unchanged", "deleted", "skipped", "failed")

_INSERT_REVISIONS = """
INSERT INTO revisions (repository, sha, ref, author_name, author_email, committed_at,
                       message, first_seen_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::timestamptz[], $7::text[], $8::timestamptz[])
ON CONFLICT DO NOTHING
"""

_INSERT_SYNCS = """
INSERT INTO syncs (id, cluster, revision, trigger, result, started_at, finished_at, created,
                   configured, unchanged, deleted, skipped, failed, error, trace_id, bundles)
SELECT u.id, u.cluster, u.revision, u.trigger, u.result, u.started_at, u.finished_at,
       u.created, u.configured, u.unchanged, u.deleted, u.skipped, u.failed, u.error,
       u.trace_id, u.bundles::jsonb
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
            $7::timestamptz[], $8::int[], $9::int[], $10::int[], $11::int[], $12::int[],
            $13::int[], $14::text[], $15::text[], $16::text[])
    AS u(id, cluster, revision, trigger, result, started_at, finished_at, created, configured,
         unchanged, deleted, skipped, failed, error, trace_id, bundles)
ON CONFLICT DO NOTHING
"""

_INSERT_SYNC_BUNDLES = """
INSERT INTO sync_bundles (sync_id, bundle, cluster, revision, result, finished_at, trigger,
                          created, configured, unchanged, deleted, skipped, failed)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::timestamptz[], $7::text[], $8::int[], $9::int[], $10::int[],
                     $11::int[], $12::int[], $13::int[])
ON CONFLICT DO NOTHING
"""

_INSERT_DRIFT = """
INSERT INTO drift (id, cluster, bundle, object_group, object_kind, object_namespace,
                   object_name, fields, field_manager, operation, action, revision,
                   observed_at, trace_id)
SELECT u.id, u.cluster, u.bundle, u.object_group, u.object_kind, u.object_namespace,
       u.object_name, ARRAY(SELECT jsonb_array_elements_text(u.fields::jsonb)),
       u.field_manager, u.operation, u.action, u.revision, u.observed_at, u.trace_id
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::timestamptz[], $14::text[])
    AS u(id, cluster, bundle, object_group, object_kind, object_namespace, object_name,
         fields, field_manager, operation, action, revision, observed_at, trace_id)
ON CONFLICT DO NOTHING
"""

SYNC_COLUMNS = (
    "s.id, s.cluster, s.revision, s.trigger, s.result, s.started_at, s.finished_at,"
    " s.error, s.trace_id, s.bundles::text AS bundles"
)
DRIFT_COLUMNS = (
    "d.id, d.cluster, d.bundle, d.object_group, d.object_kind, d.object_namespace,"
    " d.object_name, d.fields, d.field_manager, d.operation, d.action, d.revision,"
    " d.observed_at, d.trace_id"
)
REVISION_COLUMNS = (
    "r.repository, r.sha, r.ref, r.author_name, r.author_email, r.committed_at, r.message,"
    " r.first_seen_at"
)

RETENTION: tuple[tuple[paging.Table, str], ...] = (
    # Bundles of a sync go with it (ON DELETE CASCADE).
    (
        paging.Table.SYNCS,
        "DELETE FROM syncs WHERE id IN (SELECT id FROM syncs WHERE finished_at < $1 LIMIT $2)",
    ),
    (
        paging.Table.DRIFT,
        "DELETE FROM drift WHERE id IN (SELECT id FROM drift WHERE observed_at < $1 LIMIT $2)",
    ),
    # A revision stays while any sync still names it: lead time needs its commit time.
    (
        paging.Table.REVISIONS,
        "DELETE FROM revisions WHERE (repository, sha) IN"
        " (SELECT repository, sha FROM revisions r WHERE first_seen_at < $1"
        "  AND NOT EXISTS (SELECT 1 FROM syncs s WHERE s.revision = r.sha) LIMIT $2)",
    ),
)


async def insert(connection: Connection, rows: Sequence[paging.Record]) -> None:
    """Write a batch in one transaction; rows the table already has are left as they are."""
    syncs = [row for row in rows if isinstance(row, h.SyncRecord)]
    drift = [row for row in rows if isinstance(row, h.DriftRecord)]
    revisions = [row for row in rows if isinstance(row, h.RevisionRecord)]
    async with connection.transaction():
        if revisions:
            await connection.execute(_INSERT_REVISIONS, *_revision_columns(revisions))
        if syncs:
            await connection.execute(_INSERT_SYNCS, *_sync_columns(syncs))
            bundles = _sync_bundle_columns(syncs)
            if bundles[0]:
                await connection.execute(_INSERT_SYNC_BUNDLES, *bundles)
        if drift:
            await connection.execute(_INSERT_DRIFT, *_drift_columns(drift))


def affected(status: str) -> int:
    """Rows a command touched, from its status tag (``INSERT 0 12``, ``DELETE 5``)."""
    return int(status.rpartition(" ")[2])


def sync_from_row(row: asyncpg.Record) -> h.SyncRecord:
    return h.SyncRecord(
        id=row["id"],
        cluster=ClusterName(row["cluster"]),
        revision=Revision(row["revision"]),
        trigger=h.SyncTrigger(row["trigger"]),
        result=h.SyncResult(row["result"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        bundles=tuple(_bundle_from_json(item) for item in json.loads(row["bundles"])),
        error=row["error"],
        trace_id=row["trace_id"],
    )


def drift_from_row(row: asyncpg.Record) -> h.DriftRecord:
    return h.DriftRecord(
        id=row["id"],
        cluster=ClusterName(row["cluster"]),
        bundle=BundleName(row["bundle"]),
        key=ObjectKey(
            group=row["object_group"],
            kind=row["object_kind"],
            namespace=row["object_namespace"],
            name=row["object_name"],
        ),
        fields=tuple(row["fields"]),
        field_manager=row["field_manager"],
        operation=h.DriftOperation(row["operation"]),
        action=h.DriftAction(row["action"]),
        revision=Revision(row["revision"]),
        observed_at=row["observed_at"],
        trace_id=row["trace_id"],
    )


def revision_from_row(row: asyncpg.Record) -> h.RevisionRecord:
    return h.RevisionRecord(
        sha=Revision(row["sha"]),
        repository=row["repository"],
        ref=row["ref"],
        author_name=row["author_name"],
        author_email=row["author_email"],
        committed_at=row["committed_at"],
        message=row["message"],
        first_seen_at=row["first_seen_at"],
    )


def _revision_columns(rows: Sequence[h.RevisionRecord]) -> list[list[Any]]:
    return _columns(
        [
            (
                _text(row.repository),
                _text(row.sha),
                _text(row.ref),
                _text(row.author_name),
                _text(row.author_email),
                row.committed_at,
                _text(row.message),
                row.first_seen_at,
            )
            for row in rows
        ],
        width=8,
    )


def _sync_columns(rows: Sequence[h.SyncRecord]) -> list[list[Any]]:
    def values(row: h.SyncRecord) -> tuple[Any, ...]:
        totals = row.totals
        return (
            row.id,
            _text(row.cluster),
            _text(row.revision),
            str(row.trigger),
            str(row.result),
            row.started_at,
            row.finished_at,
            *(getattr(totals, name) for name in _COUNT_NAMES),
            _text_or_none(row.error),
            _text_or_none(row.trace_id),
            bundles_json(row.bundles),
        )

    return _columns((values(row) for row in rows), width=16)


def _sync_bundle_columns(rows: Sequence[h.SyncRecord]) -> list[list[Any]]:
    return _columns(
        [
            (
                row.id,
                _text(bundle.name),
                _text(row.cluster),
                _text(bundle.revision),
                str(bundle.result),
                row.finished_at,
                str(row.trigger),
                *(getattr(bundle.counts, name) for name in _COUNT_NAMES),
            )
            for row in rows
            for bundle in row.bundles
        ],
        width=13,
    )


def _drift_columns(rows: Sequence[h.DriftRecord]) -> list[list[Any]]:
    return _columns(
        [
            (
                row.id,
                _text(row.cluster),
                _text(row.bundle),
                _text(row.key.group),
                _text(row.key.kind),
                _text(row.key.namespace),
                _text(row.key.name),
                json.dumps([_text(path) for path in row.fields]),
                _text_or_none(row.field_manager),
                str(row.operation),
                str(row.action),
                _text(row.revision),
                row.observed_at,
                _text_or_none(row.trace_id),
            )
            for row in rows
        ],
        width=14,
    )


def _columns(rows: Iterable[tuple[Any, ...]], *, width: int) -> list[list[Any]]:
    # unnest takes one array per column; a batch arrives as rows.
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def bundles_json(bundles: Sequence[h.BundleOutcome]) -> str:
    """A sync's bundles as the ``syncs.bundles`` column holds them."""
    return json.dumps([_bundle_to_json(bundle) for bundle in bundles])


def _bundle_to_json(bundle: h.BundleOutcome) -> dict[str, Any]:
    return {
        "name": _text(bundle.name),
        "revision": _text(bundle.revision),
        "result": str(bundle.result),
        "counts": {name: getattr(bundle.counts, name) for name in _COUNT_NAMES},
        "error": _text_or_none(bundle.error),
    }


def _bundle_from_json(item: Mapping[str, Any]) -> h.BundleOutcome:
    return h.BundleOutcome(
        name=BundleName(item["name"]),
        revision=Revision(item["revision"]),
        result=h.SyncResult(item["result"]),
        counts=h.ObjectCounts(**item["counts"]),
        error=item["error"],
    )


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def _text_or_none(value: str | None) -> str | None:
    return None if value is None else _text(value)
