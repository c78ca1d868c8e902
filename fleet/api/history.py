"""``/api/v1/syncs``, ``/drift``, ``/revisions``, ``/delivery`` and ``/history``.

Thin on purpose: query parameters become a filter value of `fleet.structs.history`, the
store answers one keyset page, and the page goes out as JSON with the cursor of the next
page and a link that repeats the filters. Both stores (PostgreSQL and memory) answer the
same filters with the same cursors, so nothing here knows which one it talks to; what it
is, and whether rows are waiting or were dropped, is what ``/api/v1/history`` shows.
A bad parameter or cursor is a 400 naming the parameter; a database that cannot answer
is a 503 (the errors middleware maps the store's exceptions).

``/api/v1/delivery`` is as thin: a `DeliveryQuery` in (the last 30 days unless told), the
store's `DeliveryReport` out. Its JSON is written here, next to the one handler that
answers it, durations in seconds as everywhere in the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from fleet.api import answering, encoding, parameters
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.clock import Clock, SystemClock
from fleet.structs.objects import BundleName, ClusterName
from fleet.structs.settings import ApiSettings

SYNCS, DRIFT, REVISIONS, DELIVERY, STATUS = (
    "/api/v1/syncs",
    "/api/v1/drift",
    "/api/v1/revisions",
    "/api/v1/delivery",
    "/api/v1/history",
)
PAGING = ("limit", "cursor")
SYNC_FILTERS = ("cluster", "bundle", "revision", "result", "trigger", "since", "until")
DRIFT_FILTERS = (
    "cluster",
    "bundle",
    "kind",
    "namespace",
    "name",
    "fieldManager",
    "action",
    "since",
    "until",
)
REVISION_FILTERS = ("repository", "ref", "since", "until")
DELIVERY_PARAMETERS = ("cluster", "bundle", "by", "since", "until")
DELIVERY_RANGE = timedelta(days=30)
"""What ``/api/v1/delivery`` measures without ``since``: the 30 days before ``until``."""


class HistoryEndpoints:
    """The history handlers over one `HistoryStore`."""

    def __init__(
        self, store: h.HistoryStore, settings: ApiSettings, *, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock or SystemClock()  # "now", where a delivery range leaves it open

    def __repr__(self) -> str:
        return f"<HistoryEndpoints {self._store!r}>"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(SYNCS, self.syncs),
            web.get(DRIFT, self.drift),
            web.get(REVISIONS, self.revisions),
            web.get(DELIVERY, self.delivery),
            web.get(STATUS, self.status),
        ]

    async def syncs(self, request: web.Request) -> web.Response:
        query = parameters.Query(request.query, known=(*SYNC_FILTERS, *PAGING))
        cluster, bundle = query.text("cluster"), query.text("bundle")
        since, until = query.time_range()
        where = h.SyncFilter(
            cluster=ClusterName(cluster) if cluster else None,
            bundle=BundleName(bundle) if bundle else None,
            revision=query.sha("revision"),
            result=query.choice("result", h.SyncResult),
            trigger=query.choice("trigger", h.SyncTrigger),
            since=since,
            until=until,
        )
        cursor, limit = self._paging(query)
        found = await self._store.list_syncs(where, cursor=cursor, limit=limit)
        return self._answer(request, found, encoding.sync)

    async def drift(self, request: web.Request) -> web.Response:
        query = parameters.Query(request.query, known=(*DRIFT_FILTERS, *PAGING))
        cluster, bundle = query.text("cluster"), query.text("bundle")
        since, until = query.time_range()
        where = h.DriftFilter(
            cluster=ClusterName(cluster) if cluster else None,
            bundle=BundleName(bundle) if bundle else None,
            kind=query.text("kind"),
            namespace=query.text("namespace"),
            name=query.text("name"),
            field_manager=query.text("fieldManager", max_length=128),
            action=query.choice("action", h.DriftAction),
            since=since,
            until=until,
        )
        cursor, limit = self._paging(query)
        found = await self._store.list_drift(where, cursor=cursor, limit=limit)
        return self._answer(request, found, encoding.drift)

    async def revisions(self, request: web.Request) -> web.Response:
        query = parameters.Query(request.query, known=(*REVISION_FILTERS, *PAGING))
        since, until = query.time_range()
        where = h.RevisionFilter(
            repository=query.text("repository", max_length=2048),
            ref=query.text("ref"),
            since=since,
            until=until,
        )
        cursor, limit = self._paging(query)
        found = await self._store.list_revisions(where, cursor=cursor, limit=limit)
        return self._answer(request, found, encoding.revision)

    async def delivery(self, request: web.Request) -> web.Response:
        query = parameters.Query(request.query, known=DELIVERY_PARAMETERS)
        cluster, bundle = query.text("cluster"), query.text("bundle")
        since, until = query.time_range()
        until = until or self._clock.utcnow()
        if since is None:
            if until - datetime.min.replace(tzinfo=UTC) < DELIVERY_RANGE:
                raise errors.UserError(
                    "is too early to count 30 days back; give since", where="until"
                )
            since = until - DELIVERY_RANGE
        measured = h.DeliveryQuery(
            since=since,
            until=until,
            cluster=ClusterName(cluster) if cluster else None,
            bundle=BundleName(bundle) if bundle else None,
            by=query.choice("by", h.DeliveryGroup),
        )
        report = await self._store.delivery_metrics(measured)
        return answering.json_answer(delivery_report(report))

    async def status(self, request: web.Request) -> web.Response:
        parameters.Query(request.query, known=())
        return answering.json_answer(encoding.history_status(self._store.status()))

    def _paging(self, query: parameters.Query) -> tuple[str | None, int]:
        limit = query.limit(
            default=self._settings.default_page_size, maximum=self._settings.max_page_size
        )
        return query.text("cursor", max_length=1024), limit

    def _answer(
        self,
        request: web.Request,
        found: h.Page[encoding.T],
        encode: encoding.Encoder[encoding.T],
    ) -> web.Response:
        body = encoding.page(
            found.items,
            encode,
            path=request.path,
            query=request.query,
            next_cursor=found.next_cursor,
        )
        return answering.json_answer(body)


def delivery_report(report: h.DeliveryReport) -> encoding.Json:
    """A delivery report as ``/api/v1/delivery`` answers it."""
    query = report.query
    return {
        "unit": str(report.unit),
        "since": encoding.time(query.since),
        "until": encoding.time(query.until),
        "cluster": query.cluster,
        "bundle": query.bundle,
        "by": str(query.by) if query.by is not None else None,
        "total": delivery_metrics(report.total),
        "groups": [delivery_metrics(group) for group in report.groups],
    }


def delivery_metrics(metrics: h.DeliveryMetrics) -> encoding.Json:
    return {
        "cluster": metrics.cluster,
        "bundle": metrics.bundle,
        "deployments": metrics.deployments,
        "deployments_per_day": metrics.deployments_per_day,
        "lead_times": metrics.lead_times,
        "lead_time_seconds": _seconds(metrics.lead_time),
        "failed_deployments": metrics.failed_deployments,
        "change_failure_rate": metrics.change_failure_rate,
        "restored": metrics.restored,
        "time_to_restore_seconds": _seconds(metrics.time_to_restore),
    }


def _seconds(duration: timedelta | None) -> float | None:
    return duration.total_seconds() if duration is not None else None
