"""The API server: the aiohttp application factory, and the server that runs it.

`application` puts every part together -- probes, history, the fleet endpoints, the
webhook, the OpenAPI document -- behind one stack of middlewares, outermost first:

1. CORS headers (reads only, configured origins only), so they reach error answers too;
2. request metrics, which see the final status of every answer;
3. errors as JSON, so whatever happens below answers ``{"error", "message"}``;
4. the request deadline;
5. the body limit (by Content-Length, before anything is read);
6. the bearer token on every state-changing route.

The webhook is exempt from the last two: it has its own body limit and read timeout,
and its own signature check instead of a token. The runtime builds the parts (it alone
knows the engine, the clients and the stores) and passes them in; nothing here starts
a task or reads the environment.

`ApiServer` serves an application on ``api.listen`` with the settings' limits
(request line and header sizes, keep-alive, shutdown grace) and the access log of
`observing`, and stops it again; as an async context manager it is what the runtime
and the tests use.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from fleet.api import (
    answering,
    clusters,
    guarding,
    history,
    observing,
    openapi,
    probing,
    webhooks,
)
from fleet.structs import errors
from fleet.structs.fleetview import FleetView
from fleet.structs.history import HistoryStore
from fleet.structs.settings import ApiSettings, listen_address

_log = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("fleet.api.access")
SELF_AUTHENTICATED = frozenset({webhooks.PATH})
"""Routes that check a signature of their own instead of the bearer token."""


def application(
    settings: ApiSettings,
    *,
    fleet: FleetView,
    history_store: HistoryStore,
    webhook: webhooks.GitWebhook,
    readiness: probing.Readiness,
    registry: CollectorRegistry,
) -> web.Application:
    """The whole API as one aiohttp application; serve it with `ApiServer`."""
    metrics = observing.RequestMetrics(registry)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            guarding.cors_for_reads(settings),
            metrics.measure,
            answering.errors_as_json,
            guarding.deadline(settings),
            guarding.body_limit(settings, exempt=SELF_AUTHENTICATED),
            guarding.writes_need_token(settings, self_authenticated=SELF_AUTHENTICATED),
        ],
    )
    app.add_routes(probing.Probes(readiness, registry).routes())
    app.add_routes(history.HistoryEndpoints(history_store, settings).routes())
    app.add_routes(clusters.FleetEndpoints(fleet, history_store, settings).routes())
    app.add_routes(webhook.routes())
    app.add_routes(openapi.routes())
    app.on_response_prepare.append(_common_headers)
    return app


async def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
    # No version of Python or aiohttp for scanners; answers are live state, never cached.
    response.headers["Server"] = "fleet"
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"


class ApiServer:
    """Serves one application on ``settings.listen`` between `start` and `close`."""

    def __init__(self, app: web.Application, settings: ApiSettings) -> None:
        self._app = app
        self._settings = settings
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def __repr__(self) -> str:
        state = f"serving on port {self.port}" if self._runner else "stopped"
        return f"<ApiServer {self._settings.listen} {state}>"

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def url(self) -> str:
        """The base URL clients use (loopback when listening on every interface)."""
        if self.port is None:
            raise RuntimeError("the API server is not started")
        host, _ = listen_address(self._settings.listen)
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen; a port in use or an address not on this host is a `UserError`."""
        host, port = listen_address(self._settings.listen)
        runner = web.AppRunner(
            self._app,
            handle_signals=False,
            access_log_class=observing.AccessLog,
            access_log=ACCESS_LOG,
            keepalive_timeout=self._settings.keepalive_timeout,
            max_line_size=self._settings.max_header_bytes,
            max_field_size=self._settings.max_header_bytes,
            shutdown_timeout=self._settings.shutdown_timeout,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise errors.UserError(
                f"cannot listen on {self._settings.listen}: {error.strerror or error}",
                where="api.listen",
            ) from None
        self._runner = runner
        address: Any = runner.addresses[0]
        self.port = int(address[1])
        _log.info("API serving on %s", self.url)

    async def close(self) -> None:
        """Stop listening, let open requests finish (up to ``shutdown_timeout``), close."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
