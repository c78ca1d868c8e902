"""``/api/v1/fleet``, ``/clusters``, ``/clusters/{name}``, ``/bundles``, ``/bundles/{name}``
and ``POST /clusters/{name}/sync``: what runs where, from the engine's memory.

Everything here reads a `FleetView`, never the engine or the clients directly, so these
endpoints are tested with a fake view and the runtime decides what stands behind it. A
bundle has no status of its own in the engine: it is a column of the clusters' table
(each cluster reports its bundles), so the bundle endpoints gather it from the clusters
that run the bundle. A bundle that targets no cluster therefore does not appear.

The cluster list is paged by name with an opaque cursor, like the history, and filtered
by label selector (Kubernetes syntax, matched as targets in ``fleet.yaml`` are) and
state. A sync request only queues the cluster (202): the sync itself runs on a worker,
and its outcome appears in the cluster's status and in ``/api/v1/syncs``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import logging
from collections.abc import Sequence

from aiohttp import web

from fleet.api import answering, encoding, parameters
from fleet.planning import selectors
from fleet.structs import errors
from fleet.structs import fleetview as fv
from fleet.structs import history as h
from fleet.structs.objects import ClusterName
from fleet.structs.settings import ApiSettings

_log = logging.getLogger(__name__)

FLEET = "/api/v1/fleet"
CLUSTERS = "/api/v1/clusters"
CLUSTER = "/api/v1/clusters/{name}"
SYNC = "/api/v1/clusters/{name}/sync"
BUNDLES = "/api/v1/bundles"
BUNDLE = "/api/v1/bundles/{name}"


class FleetEndpoints:
    """The handlers over one `FleetView` (and the history store, for its status)."""

    def __init__(self, view: fv.FleetView, history: h.HistoryStore, settings: ApiSettings) -> None:
        self._view = view
        self._history = history
        self._settings = settings

    def __repr__(self) -> str:
        return f"<FleetEndpoints {self._view!r}>"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(FLEET, self.fleet),
            web.get(CLUSTERS, self.clusters),
            web.get(CLUSTER, self.cluster),
            web.post(SYNC, self.sync),
            web.get(BUNDLES, self.bundles),
            web.get(BUNDLE, self.bundle),
        ]

    async def fleet(self, request: web.Request) -> web.Response:
        parameters.Query(request.query, known=())
        clusters = self._view.clusters()
        by_state = dict.fromkeys((str(state) for state in fv.ClusterState), 0)
        by_state.update(collections.Counter(str(view.state) for view in clusters))
        body = {
            "source": encoding.source(self._view.source()),
            "clusters": {"total": len(clusters), "by_state": by_state},
            "bundles": len(_by_bundle(clusters)),
            "history": encoding.history_status(self._history.status()),
        }
        return answering.json_answer(body)

    async def clusters(self, request: web.Request) -> web.Response:
        query = parameters.Query(request.query, known=("selector", "state", "limit", "cursor"))
        selector = query.selector("selector")
        state = query.choice("state", fv.ClusterState)
        limit = query.limit(
            default=self._settings.default_page_size, maximum=self._settings.max_page_size
        )
        after = _decode(query.text("cursor", max_length=1024))
        chosen = [
            view
            for view in self._view.clusters()
            if (after is None or view.name > after)
            and (state is None or view.state is state)
            and (selector is None or selectors.matches(selector, view.labels))
        ]
        shown = chosen[:limit]
        cursor = _encode(shown[-1].name) if len(chosen) > limit else None
        body = encoding.page(
            shown,
            encoding.cluster_summary,
            path=request.path,
            query=request.query,
            next_cursor=cursor,
        )
        return answering.json_answer(body)

    async def cluster(self, request: web.Request) -> web.Response:
        parameters.Query(request.query, known=())
        return answering.json_answer(encoding.cluster_detail(self._find(request)))

    async def sync(self, request: web.Request) -> web.Response:
        parameters.Query(request.query, known=())
        name = self._find(request).name
        if not self._view.request_sync(name):  # removed from the inventory meanwhile
            raise _no_cluster(name)
        _log.info("sync of cluster %s requested through the API by %s", name, request.remote)
        return answering.json_answer({"cluster": name, "queued": True}, status=202)

    async def bundles(self, request: web.Request) -> web.Response:
        parameters.Query(request.query, known=())
        items = [
            {
                "name": name,
                "clusters": len(rows),
                "states": dict(collections.Counter(row.state for _, row in rows)),
                "revisions": dict(collections.Counter(str(row.revision) for _, row in rows)),
            }
            for name, rows in sorted(_by_bundle(self._view.clusters()).items())
        ]
        return answering.json_answer({"items": items})

    async def bundle(self, request: web.Request) -> web.Response:
        parameters.Query(request.query, known=())
        name = request.match_info["name"]
        rows = _by_bundle(self._view.clusters()).get(name)
        if not rows:
            raise answering.ApiError(404, f"no cluster runs a bundle named {name[:253]!r}")
        clusters = [
            {
                "cluster": cluster,
                "revision": row.revision,
                "state": row.state,
                "health": row.health,
                "message": row.message,
                "counts": encoding.counts(row.counts),
            }
            for cluster, row in rows
        ]
        states = dict(collections.Counter(row.state for _, row in rows))
        return answering.json_answer({"name": name, "states": states, "clusters": clusters})

    def _find(self, request: web.Request) -> fv.ClusterView:
        name = ClusterName(request.match_info["name"])
        found = self._view.cluster(name)
        if found is None:
            raise _no_cluster(name)
        return found


def _by_bundle(
    clusters: Sequence[fv.ClusterView],
) -> dict[str, list[tuple[ClusterName, fv.BundleView]]]:
    found: dict[str, list[tuple[ClusterName, fv.BundleView]]] = collections.defaultdict(list)
    for view in clusters:
        for bundle in view.bundles:
            found[bundle.name].append((view.name, bundle))
    return found


def _no_cluster(name: str) -> answering.ApiError:
    return answering.ApiError(404, f"no cluster named {name[:253]!r}")


_CURSOR_PREFIX = "clusters after "
"""Leads every /clusters cursor, so that a cursor of another endpoint is refused."""


def _encode(name: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + name).encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> str | None:
    """The name a /clusters cursor continues after."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_CURSOR_PREFIX):
        raise errors.UserError(
            "this cursor cannot continue /clusters; start again without a cursor", where="cursor"
        )
    return text.removeprefix(_CURSOR_PREFIX)
