"""The admin endpoint: faults, counters and compaction of a running simulator, over HTTP.

Reliability tests and benchmarks run `fleet sim` as a separate process and still need
to break one cluster, read how many lists another one served, or compact a history;
these JSON routes do that. They answer only on loopback and only with the admin
token (written to `<out>/admin-token`), because they can take every cluster down.

    GET    /admin/clusters                     names, URLs, labels
    GET    /admin/clusters/<name>              faults, counters, resourceVersion, window
    GET    /admin/clusters/<name>/faults       PUT replaces, PATCH changes some settings
    GET    /admin/clusters/<name>/counters     DELETE resets
    POST   /admin/clusters/<name>/compact      body {"window": n} or {} for all history
    PATCH  /admin/faults                       every cluster (PUT replaces)
    GET    /admin/counters                     every started cluster; DELETE resets
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fleet.sim import faults

if TYPE_CHECKING:
    from fleet.sim.serving import Simulator

Handler = Callable[[web.Request], Awaitable[web.Response]]


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status)


def _guarded(sim: Simulator, handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        try:
            remote = ipaddress.ip_address(request.remote or "0.0.0.0")  # noqa: S104 - a default, not a bind
            if not remote.is_loopback:
                raise AdminError(403, "the admin endpoint answers on loopback only")
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not sim.tokens.check_admin(token.strip()):
                raise AdminError(401, "the admin endpoint needs the admin token")
            name = request.match_info.get("name")
            if name is not None and not sim.knows(name):
                raise AdminError(404, f"no cluster {name!r}")
            return await handler(request)
        except AdminError as error:
            return _json({"error": str(error)}, error.status)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        async with asyncio.timeout(30):
            raw = await request.content.read(65536)
    except TimeoutError:
        raise AdminError(408, "the body did not arrive in time") from None
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise AdminError(400, "the body must be a JSON object") from None
    if not isinstance(value, dict):
        raise AdminError(400, "the body must be a JSON object")
    return value


async def _new_faults(request: web.Request, current: faults.Faults) -> faults.Faults:
    """PUT replaces the faults (unnamed settings off), PATCH changes the named ones."""
    changes = await _body(request)
    base = faults.NONE if request.method == "PUT" else current
    try:
        return base.updated(changes)
    except ValueError as error:
        raise AdminError(400, str(error)) from None


def add_routes(app: web.Application, *, sim: Simulator) -> None:
    """Register the admin routes for `sim` on `app`."""

    async def list_clusters(request: web.Request) -> web.Response:
        return _json([{"name": n, "url": sim.url(n), "labels": sim.labels(n)} for n in sim.names])

    async def describe(request: web.Request) -> web.Response:
        cluster = sim.cluster(request.match_info["name"])
        return _json({
            "name": cluster.name,
            "faults": cluster.faults.to_json(),
            "counters": cluster.counters.snapshot().to_json(),
            "resourceVersion": cluster.store.resource_version,
            "window": cluster.store.window,
            "oldestResumable": cluster.store.oldest_resumable,
        })  # fmt: skip

    async def cluster_faults(request: web.Request) -> web.Response:
        cluster = sim.cluster(request.match_info["name"])
        if request.method in ("PUT", "PATCH"):
            cluster.set_faults(await _new_faults(request, cluster.faults))
        return _json(cluster.faults.to_json())

    async def cluster_counters(request: web.Request) -> web.Response:
        cluster = sim.cluster(request.match_info["name"])
        if request.method == "DELETE":
            cluster.counters.reset()
        return _json(cluster.counters.snapshot().to_json())

    async def compact(request: web.Request) -> web.Response:
        cluster = sim.cluster(request.match_info["name"])
        window = (await _body(request)).get("window")
        if window is not None and (isinstance(window, bool) or not isinstance(window, int)
                                   or window < 1):  # fmt: skip
            raise AdminError(400, "window must be a positive integer or absent")
        cluster.compact(window)
        return _json({
            "resourceVersion": cluster.store.resource_version,
            "oldestResumable": cluster.store.oldest_resumable,
            "window": cluster.store.window,
        })  # fmt: skip

    async def all_faults(request: web.Request) -> web.Response:
        changes = await _body(request)
        try:
            faults.NONE.updated(changes)
        except ValueError as error:
            raise AdminError(400, str(error)) from None
        for name in sim.names:
            cluster = sim.cluster(name)
            base = faults.NONE if request.method == "PUT" else cluster.faults
            cluster.set_faults(base.updated(changes))
        return _json({"clusters": len(sim.names), "changed": sorted(changes)})

    async def all_counters(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            sim.reset_counters()
        return _json({c.name: c.counters.snapshot().to_json() for c in sim.started()})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/admin/clusters", list_clusters),
        ("GET", "/admin/clusters/{name}", describe),
        ("GET", "/admin/clusters/{name}/faults", cluster_faults),
        ("PUT", "/admin/clusters/{name}/faults", cluster_faults),
        ("PATCH", "/admin/clusters/{name}/faults", cluster_faults),
        ("GET", "/admin/clusters/{name}/counters", cluster_counters),
        ("DELETE", "/admin/clusters/{name}/counters", cluster_counters),
        ("POST", "/admin/clusters/{name}/compact", compact),
        ("PUT", "/admin/faults", all_faults),
        ("PATCH", "/admin/faults", all_faults),
        ("GET", "/admin/counters", all_counters),
        ("DELETE", "/admin/counters", all_counters),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(sim, handler))
