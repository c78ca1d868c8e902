"""The simulator as a server: one aiohttp application, many clusters, and `run()`.

Every cluster lives under `/clusters/<name>/`, so one port and one TLS certificate
serve a thousand clusters, and kubectl or any client only needs the server URL from
the cluster's kubeconfig. Cluster state is created on first use: a cluster nobody
talks to costs a name in a tuple. The order of checks on each request is the order a
client would meet them in production: an outage (connection reset or 503) comes
before authentication, authentication (401) before anything else, then injected
latency and errors, then the API itself.

`run(SimConfig(...))` is how tests, benchmarks and `fleet sim` start it:

    async with serving.run(config.SimConfig(clusters=5)) as sim:
        sim.url("sim-000"), sim.token("sim-000"), sim.cluster("sim-000").store, ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from fleet.sim import (
    admin,
    clusters,
    config,
    controllers,
    counting,
    credentials,
    handling,
    routing,
    statuses,
)
from fleet.sim import faults as faulting

_log = logging.getLogger(__name__)
_ANONYMOUS = (routing.Addressed.VERSION, routing.Addressed.HEALTH)
"""What a real apiserver shows anonymous clients (kubectl's version check sends no token)."""


class Simulator:
    """A running simulator: its clusters, their URLs and tokens, and the state behind them."""

    def __init__(
        self,
        settings: config.SimConfig,
        *,
        authority: credentials.Authority | None,
        tokens: credentials.Tokens,
    ) -> None:
        self.settings = settings
        self.names = settings.names()
        self._index = {name: i for i, name in enumerate(self.names)}
        self._clusters: dict[str, clusters.VirtualCluster] = {}
        self._authority = authority
        self.tokens = tokens
        self.port = 0

    @property
    def base_url(self) -> str:
        scheme = "https" if self._authority is not None else "http"
        return f"{scheme}://{self.settings.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        return self._authority.ca_pem if self._authority is not None else None

    def client_ssl(self) -> ssl.SSLContext | None:
        """A TLS context for in-process clients that trusts the simulator's CA."""
        return self._authority.client_context() if self._authority is not None else None

    def knows(self, name: str) -> bool:
        return name in self._index

    def _check(self, name: str) -> None:
        if name not in self._index:
            raise KeyError(f"no cluster {name!r} in this simulator")

    def url(self, name: str) -> str:
        self._check(name)
        return f"{self.base_url}/clusters/{name}"

    def token(self, name: str) -> str:
        self._check(name)
        return self.tokens.for_cluster(name)

    def labels(self, name: str) -> dict[str, str]:
        self._check(name)
        return self.settings.labels.for_index(self._index[name])

    def cluster(self, name: str) -> clusters.VirtualCluster:
        """The state of cluster `name`, created (with its system namespaces) on first use."""
        found = self._clusters.get(name)
        if found is None:
            self._check(name)
            found = clusters.VirtualCluster(name, settings=self.settings)
            controllers.bootstrap(found)
            self._clusters[name] = found
        return found

    def started(self) -> list[clusters.VirtualCluster]:
        """The clusters whose state exists (that someone has used)."""
        return list(self._clusters.values())

    def counters(self, name: str) -> counting.CounterSnapshot:
        return self.cluster(name).counters.snapshot()

    def reset_counters(self, name: str | None = None) -> None:
        for cluster in [self.cluster(name)] if name else self.started():
            cluster.counters.reset()

    def faults(self, name: str) -> faulting.Faults:
        return self.cluster(name).faults

    def set_faults(self, new: faulting.Faults, name: str | None = None) -> None:
        """Set the faults of one cluster, or of every cluster when `name` is None."""
        for cluster_name in [name] if name else self.names:
            self.cluster(cluster_name).set_faults(new)

    def kubeconfig(self, name: str) -> str:
        return credentials.kubeconfig(
            name=name, server=self.url(name), token=self.token(name), ca_pem=self.ca_pem
        )

    async def write_files(self, directory: Path) -> Path:
        """Write a kubeconfig per cluster, inventory.yaml and admin-token; return the inventory."""
        kubeconfigs = {f"{name}.kubeconfig": self.kubeconfig(name) for name in self.names}
        entries = [
            credentials.ClusterFile(name, f"{name}.kubeconfig", self.labels(name))
            for name in self.names
        ]
        return await asyncio.to_thread(
            credentials.write_files,
            directory,
            kubeconfigs=kubeconfigs,
            entries=entries,
            admin_token=self.tokens.admin,
        )

    def close(self) -> None:
        for cluster in self._clusters.values():
            cluster.close()

    def __repr__(self) -> str:
        return (
            f"Simulator({self.base_url}, {len(self.names)} clusters, {len(self._clusters)} started)"
        )


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _serve_api(sim: Simulator, request: web.Request) -> web.StreamResponse:
    name = request.match_info["cluster"]
    target = routing.parse(request.match_info.get("tail", ""))
    try:
        if not sim.knows(name):
            raise statuses.path_not_found()
        cluster = sim.cluster(name)
        verdict, code = faulting.verdict(cluster.faults, cluster.random)
        if verdict is faulting.Verdict.RESET:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        if verdict is faulting.Verdict.UNAVAILABLE:
            raise statuses.injected(503, retry_after=cluster.faults.retry_after)
        if target.what not in _ANONYMOUS and not sim.tokens.check(name, _bearer(request)):
            raise statuses.unauthorized()
        if cluster.faults.latency:
            await asyncio.sleep(cluster.faults.latency)
        if verdict is faulting.Verdict.FAIL:
            raise statuses.injected(code, retry_after=cluster.faults.retry_after)
        return await handling.handle(cluster, request, target)
    except statuses.ApiError as error:
        return handling.error_response(error)
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as error:  # noqa: BLE001 - nothing a client sends may take the server down
        _log.exception("request %s %s failed", request.method, request.path)
        return handling.error_response(statuses.internal(type(error).__name__))


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(client_max_size=sim.settings.max_body_bytes + 1)

    async def api(request: web.Request) -> web.StreamResponse:
        return await _serve_api(sim, request)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_route("*", "/clusters/{cluster}", api)
    app.router.add_route("*", "/clusters/{cluster}/{tail:.*}", api)
    app.router.add_get("/healthz", health)
    admin.add_routes(app, sim=sim)
    return app


@contextlib.asynccontextmanager
async def run(settings: config.SimConfig | None = None) -> AsyncIterator[Simulator]:
    """Serve the clusters of `settings` until the block ends."""
    settings = settings or config.SimConfig()
    authority = await asyncio.to_thread(credentials.Authority) if settings.tls else None
    context = await asyncio.to_thread(authority.server_context) if authority else None
    sim = Simulator(settings, authority=authority, tokens=credentials.Tokens())
    runner = web.AppRunner(
        build_app(sim),
        access_log=None,
        handle_signals=False,
        # A client that goes away cancels its handler, so an idle watch does not linger.
        handler_cancellation=True,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context, backlog=2048)
        await site.start()
        sim.port = runner.addresses[0][1]
        yield sim
    finally:
        sim.close()
        await runner.cleanup()
