"""`Fleet`: the whole controller, built from `Settings`, started and stopped in order.

This is the one place that knows every concrete part. Start-up goes from what can fail
for a reason the operator must fix to what cannot, so that a mistake ends the process
with one clear line before anything has been touched:

1. the API server binds its port (a port in use is a `UserError`);
2. the inventory is loaded (an unusable one is a `UserError`; one bad cluster is only
   that cluster's problem);
3. the Git mirror opens and fetches once; a repository that cannot be fetched and has
   no commit on disk from an earlier run is a `UserError` (one that has keeps serving
   it, and says so);
4. the history store connects and migrates (in the background if the database is
   down: reconciling never waits for it);
5. the controller starts following Git.

Shutdown is the reverse, and graceful: the controller takes no new work and lets
running syncs finish within ``queue.shutdown_grace``; then history is flushed (within
``history.close_timeout``), the clients and mirrors close, and the API goes last, so
probes and `/metrics` answer while fleet drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from prometheus_client import CollectorRegistry

from fleet.api import probing, serving, webhooks
from fleet.clients import leasing, registry
from fleet.engine.controlling import Controller
from fleet.sources import registry as mirroring
from fleet.store import opening
from fleet.structs import errors
from fleet.structs.clock import SystemClock
from fleet.structs.kube import ConnectionPhase
from fleet.structs.settings import Settings
from fleet.structs.sources import GitSource, SourceStatus
from fleet.telemetry import tracing

logger = logging.getLogger(__name__)


class Fleet:
    """Everything of one fleet process, between `running()` entering and leaving."""

    def __init__(
        self,
        *,
        settings: Settings,
        controller: Controller,
        clusters: registry.ClusterRegistry,
        mirrors: mirroring.MirrorSet,
        server: serving.ApiServer,
        metrics: CollectorRegistry,
    ) -> None:
        self.settings = settings
        self.controller = controller
        self.clusters = clusters
        self.mirrors = mirrors
        self.server = server
        self.metrics = metrics
        self._ended = asyncio.Event()

    def __repr__(self) -> str:
        return f"Fleet({self.controller!r}, {self.server!r})"

    lost_leadership = False
    """Set when this replica led and lost the Lease: the process must exit (non-zero)."""

    leading = False
    """Set once this replica leads (without leader election: never, it just runs)."""

    async def ended(self) -> None:
        """Return when the controller has ended by itself (leadership lost)."""
        await self._ended.wait()

    @property
    def url(self) -> str:
        """Where the API answers."""
        return self.server.url


@contextlib.asynccontextmanager
async def running(settings: Settings, *, environ: Mapping[str, str]) -> AsyncIterator[Fleet]:
    """Start every part of fleet; on leaving, stop them gracefully (see the module doc).

    The controller runs in a task of its own; the caller decides when to leave (a
    signal, the demo's end). Start-up problems raise `errors.UserError`.
    """
    if not settings.git.url:
        raise errors.UserError("give the fleet repository with --repo URL|PATH", where="git.url")
    provider = tracing.configure(environ)
    clock = SystemClock()
    metrics = CollectorRegistry()
    history = opening.history_store(settings.history, registry=metrics, clock=clock)
    readiness = probing.Readiness()
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(provider.shutdown)
        mirrors = await stack.enter_async_context(
            mirroring.MirrorSet(settings.git, registry=metrics, clock=clock, environ=environ)
        )
        source = await mirrors.source(settings.git.url, branch=settings.git.branch)
        clusters = registry.ClusterRegistry(settings.clients, registry=metrics, clock=clock)
        controller = Controller(
            settings=settings.engine,
            queue_settings=settings.queue,
            clusters=clusters,
            source=source,
            history=history,
            registry=metrics,
            clock=clock,
        )
        server = serving.ApiServer(
            serving.application(
                settings.api,
                fleet=controller.board,
                history_store=history,
                webhook=webhooks.GitWebhook(settings.webhook, trigger=mirrors, registry=metrics),
                readiness=readiness,
                registry=metrics,
            ),
            settings.api,
        )
        await server.start()
        stack.push_async_callback(server.close)
        await clusters.start()
        stack.push_async_callback(clusters.close)
        await _first_fetch(source)
        await history.start()
        stack.push_async_callback(history.close)
        readiness.register("inventory", lambda: None if clusters.clusters() else "no clusters")
        readiness.register(
            "repository", lambda: None if source.head is not None else "no commit fetched yet"
        )
        elector = await _elector(stack, settings, clock=clock, metrics=metrics)
        # A standby is ready to take over, not to serve a revision: were it unready, a
        # rolling update (new pod ready before the old one goes) could never finish.
        readiness.register(
            "revision",
            lambda: controller.ready() if elector is None or elector.leading else None,
        )
        readiness.register("informers", lambda: _informers_synced(clusters))
        fleet = Fleet(
            settings=settings,
            controller=controller,
            clusters=clusters,
            mirrors=mirrors,
            server=server,
            metrics=metrics,
        )
        task = asyncio.create_task(_lead(fleet, elector), name="fleet controller")
        try:
            yield fleet
        finally:
            controller.stop()
            if elector is not None and not fleet.leading:
                task.cancel()  # a standby stops waiting for the Lease; it has nothing to drain
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _elector(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    *,
    clock: SystemClock,
    metrics: CollectorRegistry,
) -> leasing.LeaderElector | None:
    """With ``leader.enabled``, an elector campaigning for the Lease; it releases the
    Lease when the stack closes (after the controller has stopped)."""
    if not settings.leader.enabled:
        return None
    api = await stack.enter_async_context(
        leasing.session(settings.leader, clients=settings.clients, clock=clock)
    )
    elector = leasing.LeaderElector(
        api, settings=settings.leader, clock=clock, metrics=leasing.LeaderMetrics(metrics)
    )
    await stack.enter_async_context(elector)
    return elector


async def _lead(fleet: Fleet, elector: leasing.LeaderElector | None) -> None:
    """Run the controller -- at once, or once this replica leads, and only while it does."""
    controller = fleet.controller
    try:
        if elector is None:
            await controller.run()
            return
        logger.info("waiting to lead (Lease %s)", fleet.settings.leader.lease_name)
        await elector.acquired()
        fleet.leading = True
        async with asyncio.TaskGroup() as group:
            running = group.create_task(controller.run(), name="fleet controller (leading)")
            watching = group.create_task(elector.lost(), name="fleet leadership")
            done, _ = await asyncio.wait([running, watching], return_when=asyncio.FIRST_COMPLETED)
            if watching in done and not running.done():
                # Another replica may lead already: stop writing to the clusters at once.
                logger.error("leadership lost; stopping the controller")
                fleet.lost_leadership = True
                controller.stop()
            watching.cancel()
    except errors.FleetError as error:  # the elector stopped before this replica led
        logger.info("not leading: %s", error)
    finally:
        fleet._ended.set()


async def _first_fetch(source: GitSource) -> None:
    """Fetch once; without any commit to serve, fleet cannot start."""
    state = await source.fetch()
    if source.head is None:
        raise errors.UserError(
            f"cannot fetch the repository: {state.last_error or state.status}", where=state.url
        )
    if state.status is not SourceStatus.READY:
        logger.warning(
            "%s: %s; serving %s from an earlier run",
            state.url, state.last_error or state.status, source.head[:12],
        )  # fmt: skip


def _informers_synced(clusters: registry.ClusterRegistry) -> str | None:
    waiting = [
        cluster.name
        for cluster in clusters.clusters()
        if (client := clusters.client(cluster.name)) is not None
        and client.connection.phase is ConnectionPhase.READY
        and not client.cache.has_synced()
    ]
    if waiting:
        return f"{len(waiting)} clusters still listing (first: {waiting[0]})"
    return None
