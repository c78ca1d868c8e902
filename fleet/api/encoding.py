"""Values as JSON: history records, pages and the fleet's views, field by field.

Each function names the fields it puts in an answer instead of walking a dataclass, so
that a field added to a record later (a manifest, a credential) reaches the API only
when someone decides it should, and so the OpenAPI document can say exactly what an
answer holds. Times are RFC 3339 in UTC, durations are seconds, names stay strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fleet.structs import fleetview as fv
from fleet.structs import history as h
from fleet.structs.kube import ConnectionState
from fleet.structs.objects import ObjectKey

T = TypeVar("T")
Json = dict[str, Any]
Encoder = Callable[[T], Json]


def time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def page(
    items: Sequence[T],
    encode: Encoder[T],
    *,
    path: str,
    query: Mapping[str, str],
    next_cursor: str | None,
) -> Json:
    """A page of items with the cursor of the next one and a link that fetches it.

    The link repeats the request's own parameters with the new cursor, so a client
    follows ``next`` without knowing which filters it used.
    """
    link = None
    if next_cursor is not None:
        kept = [(name, value) for name, value in query.items() if name != "cursor"]
        link = f"{path}?{urlencode([*kept, ('cursor', next_cursor)])}"
    return {"items": [encode(item) for item in items], "next_cursor": next_cursor, "next": link}


COUNTED = ("created", "configured", "unchanged", "deleted", "skipped", "failed")
"""The fields of `ObjectCounts`, in the order answers show them."""


def counts(value: h.ObjectCounts) -> Json:
    return {action: getattr(value, action) for action in COUNTED}


def _totals(bundles: Sequence[h.BundleOutcome]) -> Json:
    # As `SyncRecord.totals`, without building an ObjectCounts per bundle: a page of 100
    # syncs spent more time there than in everything else it encodes.
    return {action: sum(getattr(b.counts, action) for b in bundles) for action in COUNTED}


def object_key(key: ObjectKey) -> Json:
    return {"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name}


def sync(record: h.SyncRecord) -> Json:
    return {
        "id": str(record.id),
        "cluster": record.cluster,
        "revision": record.revision,
        "trigger": str(record.trigger),
        "result": str(record.result),
        "started_at": time(record.started_at),
        "finished_at": time(record.finished_at),
        "duration_seconds": record.duration.total_seconds(),
        "error": record.error,
        "trace_id": record.trace_id,
        "counts": _totals(record.bundles),
        "bundles": [
            {
                "name": bundle.name,
                "revision": bundle.revision,
                "result": str(bundle.result),
                "counts": counts(bundle.counts),
                "error": bundle.error,
            }
            for bundle in record.bundles
        ],
    }


def drift(record: h.DriftRecord) -> Json:
    return {
        "id": str(record.id),
        "cluster": record.cluster,
        "bundle": record.bundle,
        "object": object_key(record.key),
        "fields": list(record.fields),
        "field_manager": record.field_manager,
        "operation": str(record.operation),
        "action": str(record.action),
        "revision": record.revision,
        "observed_at": time(record.observed_at),
        "trace_id": record.trace_id,
    }


def revision(record: h.RevisionRecord) -> Json:
    return {
        "sha": record.sha,
        "repository": record.repository,
        "ref": record.ref,
        "author_name": record.author_name,
        "author_email": record.author_email,
        "committed_at": time(record.committed_at),
        "message": record.message,
        "first_seen_at": time(record.first_seen_at),
    }


def history_status(status: h.HistoryStatus) -> Json:
    return {
        "backend": str(status.backend),
        "location": status.location,
        "connected": status.connected,
        "buffered": status.buffered,
        "dropped": status.dropped,
        "last_error": status.last_error,
        "last_error_since": time(status.last_error_since),
    }


def connection(state: ConnectionState | None) -> Json | None:
    if state is None:
        return None
    return {
        "phase": str(state.phase),
        "since": time(state.since),
        "last_error": state.last_error,
        "failures": state.failures,
    }


def source(view: fv.SourceView) -> Json:
    return {
        "repository": view.repository,
        "branch": view.branch,
        "revision": view.revision,
        "loaded_at": time(view.loaded_at),
        "failed_revision": view.failed_revision,
        "error": view.error,
        "problems": list(view.problems),
    }


def cluster_summary(view: fv.ClusterView) -> Json:
    """A cluster as ``/clusters`` lists it: no objects, the number of recent drifts."""
    return {
        "name": view.name,
        "labels": dict(view.labels),
        "state": str(view.state),
        "revision": view.revision,
        "result": str(view.result) if view.result is not None else None,
        "trigger": str(view.trigger) if view.trigger is not None else None,
        "synced_at": time(view.synced_at),
        "trace_id": view.trace_id,
        "error": view.error,
        "failures": view.failures,
        "connection": connection(view.connection),
        "bundles": len(view.bundles),
        "drift": len(view.drift),
    }


def cluster_detail(view: fv.ClusterView) -> Json:
    """A cluster as ``/clusters/{name}`` shows it: every bundle and object, recent drift."""
    return {
        **cluster_summary(view),
        "bundles": [bundle(b) for b in view.bundles],
        "drift": [drift(record) for record in view.drift],
    }


def bundle(view: fv.BundleView) -> Json:
    return {
        "name": view.name,
        "revision": view.revision,
        "state": view.state,
        "health": view.health,
        "message": view.message,
        "counts": counts(view.counts),
        "objects": [
            {
                "object": object_key(item.key),
                "action": item.action,
                "health": item.health,
                "message": item.message,
            }
            for item in view.objects
        ],
    }
