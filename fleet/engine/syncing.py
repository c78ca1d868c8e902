"""`ClusterSync`: one sync of one cluster, from its desired state to a `SyncReport`.

The steps, and why in this order:

1. **Watch.** Make sure the cluster's informers cover every kind the desired state and
   the bundles' inventories name, and wait until they have listed: the plan reads live
   objects from the cache only, so an in-sync cluster costs no request.
2. **Plan** every bundle that has no problems (`fleet.planning.plans.plan`): pure.
3. **Apply in waves.** Bundles go in waves by `dependsOn`: a bundle is applied once
   every bundle it depends on is *ready* on this cluster (applied and healthy) -- in the
   same sync where possible, so a Namespace bundle and the app that lives in it go out
   together. Within a wave, cluster definitions (CRDs, Namespaces, cluster RBAC) are
   applied first and waited for until the server reports them usable; then the rest,
   rank by rank. Then each bundle's health is judged.
4. **Prune** what the bundles' previous inventories had and their new state has not,
   and everything of bundles no longer meant for this cluster -- only for bundles that
   applied without a failure: a half-applied bundle keeps its old objects.
5. **Record** each bundle's new inventory in the cluster, if it changed.

A bundle with problems in the repository is *blocked*: neither applied nor pruned, its
objects stay as they were. A bundle waiting for a dependency is left alone the same way.
Every step is a child span of ``fleet.sync``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, StatusCode

from fleet.engine import applying, health, inventories, pruning, reports
from fleet.engine.changesets import ChangeSetEntry
from fleet.engine.expecting import LiveView
from fleet.engine.inventories import Inventory
from fleet.engine.loading import LoadedRevision
from fleet.engine.reports import BundleReport, BundleState, SyncReport
from fleet.planning import diffing, ordering, plans
from fleet.planning.desired import DesiredBundle, DesiredObject, DesiredState
from fleet.planning.plans import Action, Plan
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.history import SyncTrigger
from fleet.structs.kube import ClusterClient, ConnectionPhase
from fleet.structs.objects import BundleName, GroupVersionKind, Manifest, ObjectKey
from fleet.structs.settings import EngineSettings
from fleet.telemetry import tracing

ESTABLISH_POLL = 0.05
"""Seconds between looks at the cache while waiting for definitions to become usable:
the cache is in memory, so looking costs nothing but a wake-up."""


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """What one sync should bring a cluster to."""

    desired: DesiredState
    loaded: LoadedRevision
    fetch_span: SpanContext | None = None
    """The span of the fetch that brought the revision, linked from the sync's span."""


class ClusterSync:
    """Syncs one cluster; keeps its `LiveView` between syncs."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        settings: EngineSettings,
        clock: Clock,
        tracer: trace.Tracer,
    ) -> None:
        self.client = client
        self.live = LiveView(client.cache, clock=clock)
        self.verified: dict[ObjectKey, tuple[str, Manifest]] = {}
        """Objects last found in sync: key -> (their resourceVersion, the desired manifest).
        A diff costs about a millisecond per object; an object whose version and desired
        manifest are both unchanged since then needs none -- most of every resync, and
        of a commit every object it did not change (comparing two manifests for equality
        costs microseconds)."""
        self.settings = settings
        self.clock = clock
        self.tracer = tracer

    def __repr__(self) -> str:
        return f"ClusterSync({self.client.name}, {self.live!r})"

    async def sync(self, target: SyncTarget, *, trigger: SyncTrigger) -> SyncReport:
        """Sync the cluster to ``target``; never raises for what the cluster does."""
        started = self.clock.utcnow()
        revision = target.loaded.revision
        links = [Link(target.fetch_span)] if target.fetch_span is not None else []
        attributes = {
            "fleet.cluster": self.client.name,
            "fleet.revision": revision,
            "fleet.trigger": trigger.value,
            "fleet.bundles": len(target.desired.bundles),
        }
        with self.tracer.start_as_current_span(
            "fleet.sync", links=links, attributes=attributes, record_exception=False
        ) as span:
            run = _Run(self, target)
            error: str | None = None
            try:
                await run.execute()
            except errors.ClusterError as failure:
                error = failure.message
            report = SyncReport(
                cluster=self.client.name,
                revision=revision,
                trigger=trigger,
                started_at=started,
                finished_at=self.clock.utcnow(),
                bundles=run.bundle_reports(failed=error),
                error=error,
                trace_id=tracing.trace_id(span),
                wrote=run.wrote,
            )
            _describe(span, report)
        return report


class _Run:
    """The state of one sync while it runs."""

    def __init__(self, owner: ClusterSync, target: SyncTarget) -> None:
        self.owner = owner
        self.client = owner.client
        self.live = owner.live
        self.settings = owner.settings
        self.tracer = owner.tracer
        self.clock = owner.clock
        self.target = target
        self.desired = target.desired
        self.inventories: dict[BundleName, Inventory] = {}
        self.plans: dict[BundleName, Plan] = {}
        self.entries: dict[BundleName, list[ChangeSetEntry]] = {}
        self.reports: dict[BundleName, BundleReport] = {}
        self.removed: list[BundleReport] = []
        self.wrote = False

    # -- the steps -----------------------------------------------------------------------

    async def execute(self) -> None:
        self._check_reachable()
        await self._watch()
        with self.tracer.start_as_current_span("fleet.plan") as span:
            self._plan()
            span.set_attribute(
                "fleet.objects.to_apply", sum(len(p.to_apply) for p in self.plans.values())
            )
            span.set_attribute(
                "fleet.objects.to_prune", sum(len(p.prune) for p in self.plans.values())
            )
        await self._apply_in_waves()
        await self._prune()
        await self._record_inventories()

    def _check_reachable(self) -> None:
        connection = self.client.connection
        if connection.phase is ConnectionPhase.UNREACHABLE:
            # Every request would wait for its timeout; fail now and back off instead.
            raise errors.ClusterError(
                f"unreachable: {connection.last_error or 'no answer'}", cluster=self.client.name
            )

    async def _watch(self) -> None:
        """Watch what the desired state and the inventories name; wait for the lists."""
        wanted: dict[tuple[str, str], GroupVersionKind] = {}
        for gvk in (inventories.CONFIGMAP_KIND, inventories.NAMESPACE_KIND, *self._desired_kinds()):
            wanted[(gvk.group, gvk.kind)] = gvk
        cache = self.client.cache
        for _ in range(2):  # a restart learns the inventories' kinds from the first listing
            await self.client.watch_kinds(list(wanted.values()))
            try:
                async with self.clock.timeout(self.settings.establish_timeout):
                    await cache.wait_synced()
            except TimeoutError:
                raise errors.ClusterError(
                    f"the cache did not fill within {self.settings.establish_timeout:g} s"
                    f" ({self.client.connection.last_error or 'lists still running'})",
                    cluster=self.client.name,
                ) from None
            self.inventories = inventories.read_all(
                cache,
                namespace=self.settings.inventory_namespace,
                live=self.live.get,
                bundles=[bundle.name for bundle in self.desired.bundles],
            )
            missing = {
                (gvk.group, gvk.kind): gvk
                for gvk in inventories.kinds(self.inventories.values())
                if (gvk.group, gvk.kind) not in wanted
            }
            if not missing:
                return
            wanted.update(missing)

    def _desired_kinds(self) -> Iterable[GroupVersionKind]:
        for bundle in self.desired.bundles:
            for obj in bundle.objects:
                yield GroupVersionKind.from_api_version(
                    str(obj.manifest["apiVersion"]), obj.key.kind
                )

    def _plan(self) -> None:
        for bundle in self.desired.bundles:
            if bundle.blocked:
                self.reports[bundle.name] = self._blocked(bundle)
                continue
            inventory = self.inventories.get(bundle.name)
            self.plans[bundle.name] = plans.plan(
                bundle,
                live=self.live.get,
                previous=self._previous(bundle.name),
                field_manager=self.settings.field_manager,
                applied_digest=inventory.digest if inventory is not None else None,
                compare=self._compare,
            )
        desired = {obj.key for bundle in self.desired.bundles for obj in bundle.objects}
        for key in [key for key in self.owner.verified if key not in desired]:
            del self.owner.verified[key]

    def _compare(self, desired: DesiredObject, live: Manifest) -> tuple[str, ...]:
        version = str((live.get("metadata") or {}).get("resourceVersion") or "")
        verified = self.owner.verified
        memo = verified.get(desired.key)
        if version and memo is not None and memo[0] == version and memo[1] == desired.manifest:
            if memo[1] is not desired.manifest:
                # An equal manifest of a new revision: hold it, so the old one is freed.
                verified[desired.key] = (version, desired.manifest)
            return ()
        fields = diffing.differences(
            desired.manifest, live, field_manager=self.settings.field_manager
        )
        if fields:
            verified.pop(desired.key, None)
        elif version:
            verified[desired.key] = (version, desired.manifest)
        return fields

    async def _apply_in_waves(self) -> None:
        pending = [bundle for bundle in self.desired.bundles if bundle.name in self.plans]
        while pending:
            wave = [b for b in pending if all(dep in self.reports for dep in b.depends_on)]
            if not wave:  # a cycle: the loader refuses them, so this is only a safety net
                for bundle in pending:
                    self.reports[bundle.name] = self._waiting(bundle, bundle.depends_on)
                return
            ready = []
            for bundle in wave:
                unready = [
                    d for d in bundle.depends_on if self.reports[d].state is not BundleState.READY
                ]
                if unready:
                    self.reports[bundle.name] = self._waiting(bundle, unready)
                else:
                    ready.append(bundle)
            if ready:
                await self._apply_wave(ready)
            pending = [bundle for bundle in pending if bundle.name not in self.reports]

    async def _apply_wave(self, bundles: list[DesiredBundle]) -> None:
        owners = {
            step.key: bundle.name for bundle in bundles for step in self.plans[bundle.name].steps
        }
        for bundle in bundles:
            self.entries[bundle.name] = []
        for stage in ordering.Stage:
            steps = [
                step
                for bundle in bundles
                for step in self.plans[bundle.name].steps
                if ordering.stage_of(step.key) is stage
            ]
            if not steps:
                continue
            with self.tracer.start_as_current_span(
                "fleet.apply", attributes={"fleet.stage": stage.name.lower()}
            ) as span:
                entries = await applying.apply_steps(
                    self.client,
                    steps,
                    live=self.live,
                    field_manager=self.settings.field_manager,
                    concurrency=self.settings.apply_concurrency,
                )
                if stage is ordering.Stage.DEFINITIONS:
                    entries = await self._establish(entries)
                _count(span, entries)
            self.wrote |= any(e.action in (Action.CREATED, Action.CONFIGURED) for e in entries)
            for entry in entries:
                self.entries[owners[entry.key]].append(entry)
        with self.tracer.start_as_current_span("fleet.health") as span:
            states: dict[str, int] = {}
            for bundle in bundles:
                entries = self.entries[bundle.name]
                report = reports.judged(
                    name=bundle.name,
                    revision=self.target.loaded.revision_of(bundle.revision),
                    entries=entries,
                    healths={e.key: health.assess(self.live.get(e.key)) for e in entries},
                )
                self.reports[bundle.name] = report
                states[report.state.value] = states.get(report.state.value, 0) + 1
            # Counts, not an attribute per bundle: a span keeps 128 attributes, and a
            # cluster may have a thousand bundles.
            for state, count in states.items():
                span.set_attribute(f"fleet.bundles.{state}", count)

    async def _establish(self, entries: list[ChangeSetEntry]) -> list[ChangeSetEntry]:
        """Wait until the definitions just applied are usable; those that are not in time
        become failures (what depends on them would be refused anyway)."""
        waiting = {e.key for e in entries if e.action in (Action.CREATED, Action.CONFIGURED)}
        try:
            async with self.clock.timeout(self.settings.establish_timeout):
                while waiting := {k for k in waiting if not self._usable(k)}:
                    await self.clock.sleep(ESTABLISH_POLL)
        except TimeoutError:
            seconds = f"{self.settings.establish_timeout:g} s"
            return [
                ChangeSetEntry(e.key, Action.FAILED, f"{e.key}: not usable within {seconds}:"
                               f" {health.assess(self.live.get(e.key)).message}")
                if e.key in waiting else e
                for e in entries
            ]  # fmt: skip
        return entries

    def _usable(self, key: ObjectKey) -> bool:
        return health.assess(self.live.get(key)).health is health.Health.HEALTHY

    async def _prune(self) -> None:
        keys: dict[ObjectKey, BundleName] = {}
        for name, plan in self.plans.items():
            if self._applied_cleanly(name):
                keys.update(dict.fromkeys(plan.prune, name))
        gone = [name for name in self.inventories if self.desired.bundle(name) is None]
        for name in gone:
            found = plans.prunable(
                name,
                previous=self._previous(name),
                keep=(),
                live=self.live.get,
                field_manager=self.settings.field_manager,
            )
            keys.update(dict.fromkeys(found, name))
        if not keys and not gone:
            return
        with self.tracer.start_as_current_span("fleet.prune") as span:
            entries = await pruning.prune(
                self.client,
                list(keys),
                live=self.live,
                concurrency=self.settings.apply_concurrency,
            )
            _count(span, entries)
        self.wrote |= bool(entries)
        pruned: dict[BundleName, list[ChangeSetEntry]] = {}
        for entry in entries:
            pruned.setdefault(keys[entry.key], []).append(entry)
        for name, done in pruned.items():
            if name in self.reports:
                report = self.reports[name]
                self.reports[name] = _with_pruned(report, done)
        for name in gone:
            done = pruned.get(name, [])
            failed = [e for e in done if e.action is Action.FAILED]
            self.removed.append(
                BundleReport(
                    name=name,
                    revision=self.target.loaded.revision,
                    state=BundleState.FAILED if failed else BundleState.REMOVED,
                    message=failed[0].message if failed else "no longer targets this cluster",
                    pruned=tuple(done),
                )
            )

    async def _record_inventories(self) -> None:
        namespace = self.settings.inventory_namespace
        writes: list[Inventory] = []
        for bundle in self.desired.bundles:
            report = self.reports.get(bundle.name)
            if (
                bundle.name not in self.plans
                or report is None
                or report.state is BundleState.WAITING
            ):
                continue
            old = self.inventories.get(bundle.name)
            new = inventories.after_sync(bundle, self.reports[bundle.name], old)
            if inventories.changed(old, new, drift=bundle.drift):
                writes.append(new)
        done = [r for r in self.removed if r.state is BundleState.REMOVED]
        if not writes and not done:
            return
        if writes and self.live.get(_namespace_key(namespace)) is None:
            await self._apply(inventories.namespace_manifest(namespace))
        for inventory in writes:
            await self._apply(inventories.manifest(inventory, namespace=namespace))
        for report in done:
            key = inventories.key_of(report.name, namespace=namespace)
            await pruning.prune(self.client, [key], live=self.live, concurrency=1)
        self.wrote = True

    async def _apply(self, manifest: dict[str, object]) -> None:
        key = ObjectKey.from_manifest(manifest)
        try:
            stored = await self.client.apply(
                manifest, field_manager=self.settings.field_manager, force=True
            )
        except errors.ApiError as error:
            raise errors.ClusterError(
                f"cannot record the inventory ({key}): {error.message}", cluster=self.client.name
            ) from None
        self.live.applied(key, stored)

    # -- helpers -------------------------------------------------------------------------

    def _previous(self, bundle: BundleName) -> set[ObjectKey]:
        """What the bundle had: its inventory, and whatever carries its label in the cache."""
        inventory = self.inventories.get(bundle)
        keys = set(inventory.keys) if inventory is not None else set()
        keys.update(ObjectKey.from_manifest(obj) for obj in self.client.cache.by_bundle(bundle))
        keys.discard(inventories.key_of(bundle, namespace=self.settings.inventory_namespace))
        return keys

    def _applied_cleanly(self, bundle: BundleName) -> bool:
        report = self.reports.get(bundle)
        return report is not None and report.state in (
            BundleState.READY, BundleState.PROGRESSING, BundleState.DEGRADED,
        )  # fmt: skip

    def _blocked(self, bundle: DesiredBundle) -> BundleReport:
        revision = self.target.loaded.revision_of(bundle.revision)
        return reports.blocked(bundle.name, revision, problems=bundle.problems)

    def _waiting(self, bundle: DesiredBundle, unready: Iterable[BundleName]) -> BundleReport:
        revision = self.target.loaded.revision_of(bundle.revision)
        states = {name: self.reports[name].state for name in unready if name in self.reports}
        return reports.waiting(bundle.name, revision, unready=list(unready), states=states)

    def bundle_reports(self, *, failed: str | None) -> tuple[BundleReport, ...]:
        """Every bundle's report in `fleet.yaml` order, then the removed ones; a sync that
        failed as a whole reports the bundles it did not get to as failed."""
        found = []
        for bundle in self.desired.bundles:
            report = self.reports.get(bundle.name)
            if report is None:
                report = BundleReport(
                    name=bundle.name,
                    revision=self.target.loaded.revision_of(bundle.revision),
                    state=BundleState.FAILED,
                    message=failed or "not synced",
                )
            found.append(report)
        return (*found, *self.removed)


def _namespace_key(namespace: str) -> ObjectKey:
    return ObjectKey(group="", kind="Namespace", namespace="", name=namespace)


def _with_pruned(report: BundleReport, pruned: list[ChangeSetEntry]) -> BundleReport:
    failed = [entry for entry in pruned if entry.action is Action.FAILED]
    return BundleReport(
        name=report.name,
        revision=report.revision,
        state=BundleState.FAILED if failed else report.state,
        message=failed[0].message if failed else report.message,
        objects=report.objects,
        pruned=tuple(pruned),
    )


def _count(span: trace.Span, entries: Iterable[ChangeSetEntry]) -> None:
    tally: dict[str, int] = {}
    for entry in entries:
        tally[entry.action.value] = tally.get(entry.action.value, 0) + 1
    for action, count in tally.items():
        span.set_attribute(f"fleet.objects.{action}", count)
    if tally.get(Action.FAILED.value):
        span.set_status(StatusCode.ERROR, f"{tally[Action.FAILED.value]} objects failed")


def _describe(span: trace.Span, report: SyncReport) -> None:
    totals = report.totals
    for action in ("created", "configured", "unchanged", "deleted", "skipped", "failed"):
        span.set_attribute(f"fleet.objects.{action}", getattr(totals, action))
    span.set_attribute("fleet.result", report.result.value)
    span.set_attribute("fleet.state", report.state.value)
    if report.error is not None:
        span.set_status(StatusCode.ERROR, report.error)
    elif report.result.value in ("failed", "partial", "blocked"):
        span.set_status(StatusCode.ERROR, f"sync {report.result}")
