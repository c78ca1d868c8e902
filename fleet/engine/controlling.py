"""`Controller`: from new commits and changed objects to synced clusters.

The controller owns the loop of DESIGN.md's data flow:

- **Follow Git.** Each new head of the followed branch is loaded (`loading`) and
  rendered for every cluster of the inventory. A revision whose `fleet.yaml` is
  unusable is reported and skipped: the last good one goes on being served.
- **Enqueue what changed.** A cluster is enqueued when its desired state's digest
  differs from the one it was last synced to; the others are only marked as being at
  the new revision, so a commit that changes one bundle for ``env=prod`` costs requests
  on the prod clusters only. A change of the inventory renders again, without Git.
- **React to the clusters.** Every event of every cluster's cache passes through the
  drift check; drift is recorded and, unless the bundle only observes, the cluster is
  enqueued. While a cluster's rollout is still progressing, any event of it enqueues it
  too, so that it is seen healthy as soon as it is.
- **Work.** `Workers` take cluster names from the `WorkQueue` and run `reconcile`:
  one `ClusterSync` per cluster, a report, a history row when something happened, the
  metrics, the status board. A failed sync raises `SyncFailed`, so the queue backs the
  cluster off exponentially; a progressing one is checked again after
  ``health_interval``; a settled one after ``resync_interval`` (from the cache: no
  request unless something differs).

Everything the controller runs lives in one `TaskGroup` inside `run()`; `stop()` stops
taking work, lets running syncs finish within the queue's grace period, and returns.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import SpanContext
from prometheus_client import CollectorRegistry

from fleet.engine import drifting, loading, queueing, ratelimiting, workers
from fleet.engine.loading import LoadedRevision
from fleet.engine.metering import EngineMetrics
from fleet.engine.reports import SyncReport
from fleet.engine.status import StatusBoard
from fleet.engine.syncing import ClusterSync, SyncTarget
from fleet.planning.desired import DesiredBundle, DesiredObject, DesiredState
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.clusters import Cluster
from fleet.structs.history import (
    DriftAction,
    DriftRecord,
    HistoryStore,
    RevisionRecord,
    SyncResult,
    SyncTrigger,
)
from fleet.structs.kube import ClusterClient, ClusterSet, ObjectEvent
from fleet.structs.objects import ClusterName, ObjectKey
from fleet.structs.settings import EngineSettings, QueueSettings
from fleet.structs.sources import GitSource, HeadChange
from fleet.telemetry import tracing

logger = logging.getLogger(__name__)

QUEUE_NAME = "clusters"

_PRIORITY = {
    SyncTrigger.MANUAL: 4,
    SyncTrigger.COMMIT: 3,
    SyncTrigger.DRIFT: 2,
    SyncTrigger.RETRY: 1,
    SyncTrigger.RESYNC: 0,
}
"""When several reasons to sync a cluster pile up, the sync is named after the weightiest."""

RESYNC_JITTER = 0.1
"""Resyncs are spread by up to this fraction, so clusters synced together drift apart."""


class SyncFailed(errors.FleetError):
    """A sync ended failed (the report says why); the queue retries it with backoff."""


@dataclass(slots=True)
class _Member:
    """What the controller keeps about one cluster of the inventory."""

    cluster: Cluster
    client: ClusterClient | None = None
    sync: ClusterSync | None = None
    unsubscribe: Callable[[], None] | None = None
    desired: DesiredState | None = None
    loaded: LoadedRevision | None = None
    fetch_span: SpanContext | None = None
    index: dict[ObjectKey, tuple[DesiredBundle, DesiredObject]] = field(default_factory=dict)
    synced_digest: str | None = None
    report: SyncReport | None = None
    trigger: SyncTrigger | None = None
    failures: int = 0
    running: SyncTrigger | None = None
    """The trigger of the sync under way, if one is."""


class Controller:
    """Keeps every cluster of a `ClusterSet` in the state a `GitSource` declares."""

    def __init__(
        self,
        *,
        settings: EngineSettings,
        queue_settings: QueueSettings,
        clusters: ClusterSet,
        source: GitSource,
        history: HistoryStore,
        registry: CollectorRegistry,
        clock: Clock,
        tracer: trace.Tracer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._clusters = clusters
        self._source = source
        self._history = history
        self._clock = clock
        self._tracer = tracer or tracing.tracer()
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not secrecy
        self.metrics = EngineMetrics(registry)
        self.queue: queueing.WorkQueue[ClusterName] = queueing.WorkQueue(
            name=QUEUE_NAME,
            clock=clock,
            limiter=ratelimiting.from_settings(queue_settings, clock=clock, rng=self._rng),
            metrics=queueing.QueueMetrics(registry),
        )
        self.workers = workers.Workers(
            queue=self.queue, reconcile=self.reconcile, settings=queue_settings, clock=clock
        )
        self.board = StatusBoard(
            clusters=clusters,
            source=source,
            request_sync=lambda name: self.enqueue(name, SyncTrigger.MANUAL),
            drift_shown=settings.drift_shown,
        )
        self.metrics.count_states(self.board.states)
        self._damper = drifting.Damper(clock=clock)
        self._members: dict[ClusterName, _Member] = {}
        self._loaded: LoadedRevision | None = None
        self._fetch_span: SpanContext | None = None
        self._render_wanted = asyncio.Event()
        self._stopping = asyncio.Event()
        self._rendered = 0

    def __repr__(self) -> str:
        revision = self._loaded.revision[:12] if self._loaded else "no revision"
        return f"Controller({len(self._members)} clusters, {revision}, {self.workers!r})"

    # -- lifetime ------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow Git and reconcile until `stop()`; then finish running syncs and return."""
        unsubscribe = self._clusters.subscribe(self._on_clusters)
        try:
            async with self.queue, asyncio.TaskGroup() as group:
                self._on_clusters(self._clusters.clusters())
                follower = group.create_task(self._follow(), name="controller: follow git")
                renderer = group.create_task(self._renderer(), name="controller: render")
                group.create_task(self.workers.run(), name="controller: workers")
                await self._stopping.wait()
                follower.cancel()
                renderer.cancel()
                await self.workers.stop()
        finally:
            unsubscribe()
            for member in self._members.values():
                if member.unsubscribe is not None:
                    member.unsubscribe()

    def stop(self) -> None:
        """Ask `run()` to stop: no new syncs; running ones get the grace period."""
        self._stopping.set()

    def ready(self) -> str | None:
        """For ``/readyz``: None once a revision has been rendered, else why not."""
        if self._loaded is None:
            return "no revision of the fleet repository loaded yet"
        if not self._rendered:
            return "the revision is not rendered yet"
        return None

    # -- reasons to sync ---------------------------------------------------------------------

    def enqueue(self, name: ClusterName, trigger: SyncTrigger, *, after: float = 0.0) -> None:
        """Sync ``name`` (now, or ``after`` seconds), for ``trigger``."""
        member = self._members.get(name)
        if member is None:
            return
        if member.trigger is None or _PRIORITY[trigger] > _PRIORITY[member.trigger]:
            member.trigger = trigger
        if after > 0:
            self.queue.add_after(name, after)
        else:
            self.queue.add(name)

    async def _follow(self) -> None:
        async for change in self._source.head_changes():
            try:
                await self._load(change)
            except Exception:  # one bad revision must not stop fleet following Git
                logger.exception("revision %s could not be loaded", change.after)

    async def _load(self, change: HeadChange) -> None:
        revision = change.after
        try:
            loaded = await loading.load_revision(self._source, revision)
        except errors.UserError as error:
            self.metrics.revisions.labels("failed").inc()
            self.board.load_failed(revision, error=str(error))
            logger.error("revision %s not deployed: %s", revision[:12], error)
            return
        self.metrics.revisions.labels("loaded").inc()
        await self._record_revision(change)
        self._loaded = loaded
        self._fetch_span = change.fetch_span
        logger.info("revision %s loaded: %s", revision[:12], loaded)
        self._render_wanted.set()

    async def _record_revision(self, change: HeadChange) -> None:
        try:
            info = await self._source.commit_info(change.after)
        except errors.UserError as error:
            logger.warning("no commit details for %s: %s", change.after[:12], error)
            return
        name, _, email = info.author.partition(" <")
        self._history.record_revision(
            RevisionRecord(
                sha=info.revision,
                repository=self._source.url,
                ref=self._source.branch,
                author_name=name,
                author_email=email.rstrip(">"),
                committed_at=info.committed_at,
                message=info.message,
                first_seen_at=self._clock.utcnow(),
            )
        )

    async def _renderer(self) -> None:
        while True:
            await self._render_wanted.wait()
            self._render_wanted.clear()
            if self._loaded is not None:
                await self._render(self._loaded, self._fetch_span)

    async def _render(self, loaded: LoadedRevision, fetch_span: SpanContext | None) -> None:
        render = await loaded.render_async(self._clusters.clusters())
        self._rendered += 1
        self.metrics.problems.set(len(render.problems))
        self.board.loaded(
            loaded.revision, at=self._clock.utcnow(), problems=[str(p) for p in render.problems]
        )
        changed = 0
        for name, desired in render.states.items():
            member = self._members.get(name)
            if member is None:
                continue  # left the inventory while rendering
            member.desired, member.loaded, member.fetch_span = desired, loaded, fetch_span
            member.index = {
                obj.key: (bundle, obj) for bundle in desired.bundles for obj in bundle.objects
            }
            if desired.digest != member.synced_digest:
                changed += 1
                self.enqueue(name, SyncTrigger.COMMIT)
            else:
                self.board.advanced(name, loaded.revision)
        logger.info(
            "revision %s rendered for %d clusters; %d to sync, %d problems",
            loaded.revision[:12], len(render.states), changed, len(render.problems),
        )  # fmt: skip

    def _on_clusters(self, clusters: Sequence[Cluster]) -> None:
        current = {cluster.name: cluster for cluster in clusters}
        for name in [name for name in self._members if name not in current]:
            member = self._members.pop(name)
            if member.unsubscribe is not None:
                member.unsubscribe()
            self.board.forget(name)
        for name, cluster in current.items():
            member = self._members.setdefault(name, _Member(cluster))
            member.cluster = cluster
            client = self._clusters.client(name)
            if client is not None:
                self._attach(member, client)
        self._render_wanted.set()

    def _attach(self, member: _Member, client: ClusterClient) -> None:
        """Use ``client`` for the member (a reconnect may bring a new one)."""
        if member.client is client:
            return
        if member.unsubscribe is not None:
            member.unsubscribe()
        member.client = client
        member.sync = ClusterSync(
            client, settings=self._settings, clock=self._clock, tracer=self._tracer
        )
        member.unsubscribe = client.subscribe(self._on_event)

    def _on_event(self, event: ObjectEvent) -> None:
        member = self._members.get(event.cluster)
        if member is None or member.sync is None:
            return
        live = member.sync.live
        ours = live.expects(event)
        live.observe(event)
        if ours:
            return
        found = member.index.get(event.key)
        if found is not None and member.loaded is not None:
            bundle, desired = found
            record = drifting.detect(
                event,
                bundle=bundle,
                desired=desired,
                revision=member.loaded.revision_of(bundle.revision),
                field_manager=self._settings.field_manager,
                now=self._clock.utcnow(),
            )
            if record is not None:
                self._drifted(record)
                return
        if member.running is not None:
            # A sync is under way and may be starting a rollout: a desired object's event
            # may be the status that says it is done, so the queue runs the cluster once
            # more after it (from the cache) rather than only after `health_interval`.
            if found is not None:
                self.enqueue(event.cluster, member.trigger or member.running)
        elif member.report is not None and not member.report.settled:
            # A rollout is under way: this may be the status that says it is done.
            self.enqueue(event.cluster, member.trigger or member.report.trigger)

    def _drifted(self, record: DriftRecord) -> None:
        self._history.record_drift(record)
        self.board.drifted(record)
        self.metrics.drifted(record.action)
        fields = ", ".join(record.fields) or "the object"
        logger.warning(
            "cluster %s: drift of %s (%s) by %s (%s); %s",
            record.cluster, record.key, fields, record.field_manager or "someone",
            record.operation, record.action, extra={"cluster": record.cluster},
        )  # fmt: skip
        if record.action is DriftAction.REVERTED:
            delay = self._damper.delay(record.cluster, record.key)
            self.enqueue(record.cluster, SyncTrigger.DRIFT, after=delay)

    # -- reconciling ---------------------------------------------------------------------

    async def reconcile(self, name: ClusterName) -> workers.Result:
        """Sync one cluster; the queue calls this, never for one cluster twice at once."""
        member = self._members.get(name)
        client = self._clusters.client(name)
        if member is None or client is None:
            return workers.Result()
        self._attach(member, client)
        if member.desired is None or member.loaded is None or member.sync is None:
            return workers.Result()  # nothing rendered yet: the render enqueues it
        trigger = member.trigger or self._continuing(member)
        member.trigger = None
        desired = member.desired
        target = SyncTarget(desired=desired, loaded=member.loaded, fetch_span=member.fetch_span)
        member.running = trigger
        try:
            report = await member.sync.sync(target, trigger=trigger)
        finally:
            member.running = None
        member.synced_digest = desired.digest
        self._reported(member, report)
        if report.result in (SyncResult.FAILED, SyncResult.PARTIAL):
            raise SyncFailed(report.error or _first_failure(report))
        if not report.settled:
            return workers.Result(requeue_after=self._settings.health_interval)
        if self._settings.resync_interval:
            spread = 1 - self._rng.uniform(0, RESYNC_JITTER)
            return workers.Result(requeue_after=self._settings.resync_interval * spread)
        return workers.Result()

    @staticmethod
    def _continuing(member: _Member) -> SyncTrigger:
        """The trigger of a sync nobody asked for: checking on a rollout continues the
        sync that started it; after a failure it is a retry; otherwise a resync."""
        if member.failures:
            return SyncTrigger.RETRY
        if member.report is not None and not member.report.settled:
            return member.report.trigger
        return SyncTrigger.RESYNC

    def _reported(self, member: _Member, report: SyncReport) -> None:
        previous = member.report
        failed = report.result in (SyncResult.FAILED, SyncResult.PARTIAL)
        member.failures = member.failures + 1 if failed else 0
        member.report = report
        changed = previous is None or (previous.state, previous.revision, previous.error) != (
            report.state, report.revision, report.error,
        )  # fmt: skip
        if report.wrote or changed or report.trigger is SyncTrigger.MANUAL:
            self._history.record_sync(report.record())
        self.metrics.synced(report)
        self.board.reported(report.view(failures=member.failures))
        totals = report.totals
        log = logger.info if report.wrote or changed else logger.debug
        log(
            "cluster %s: sync of %s (%s) %s, %s: %d created, %d configured, %d deleted,"
            " %d failed; trace %s",
            report.cluster, report.revision[:12], report.trigger, report.result, report.state,
            totals.created, totals.configured, totals.deleted, totals.failed, report.trace_id,
            extra={"cluster": report.cluster},
        )  # fmt: skip


def _first_failure(report: SyncReport) -> str:
    for bundle in report.bundles:
        if bundle.state.value == "failed":
            return f"cluster {report.cluster}: bundle {bundle.name}: {bundle.message}"
    return f"cluster {report.cluster}: sync {report.result}"
