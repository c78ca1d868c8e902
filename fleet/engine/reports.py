"""Reports: the outcome of one cluster sync, and its translations for history and the API.

A sync ends in a `SyncReport`: per bundle, a state (ready, progressing, waiting,
degraded, blocked, failed, or removed), the health of each object, and what was done to
it. Everything people see about a sync is derived from this one value, here: the
history row (`SyncRecord`), the status API's `ClusterView`, the span's attributes and
the metrics. Deriving them in one place is what keeps the counts in a trace, a history
row and `fleet status` the same.

How states combine, worst first: a bundle that failed makes the sync *failed* (retried
with backoff), one blocked by problems in the repository makes it *blocked*; otherwise
the cluster is *degraded*, *progressing* (checked again soon) or *ready*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fleet.engine import changesets
from fleet.engine.changesets import ChangeSetEntry
from fleet.engine.health import Assessment, Health
from fleet.planning.plans import Action
from fleet.structs import history
from fleet.structs.fleetview import BundleView, ClusterState, ClusterView, ObjectView
from fleet.structs.history import ObjectCounts, SyncResult, SyncTrigger
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision
from fleet.structs.problems import Problem


class BundleState(StrEnum):
    """How one bundle stands on one cluster after a sync."""

    READY = "ready"  # applied, every object healthy
    PROGRESSING = "progressing"  # applied, a rollout not finished
    WAITING = "waiting"  # not applied: a dependency is not ready on this cluster
    DEGRADED = "degraded"  # applied, an object reports a failure
    BLOCKED = "blocked"  # not applied: problems in the repository
    FAILED = "failed"  # the cluster refused an object
    REMOVED = "removed"  # no longer for this cluster: its objects were pruned


@dataclass(frozen=True, slots=True)
class ObjectReport:
    key: ObjectKey
    action: Action
    health: Health
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleReport:
    name: BundleName
    revision: Revision
    state: BundleState
    message: str = ""
    objects: tuple[ObjectReport, ...] = ()
    pruned: tuple[ChangeSetEntry, ...] = ()

    @property
    def counts(self) -> ObjectCounts:
        actions = [o.action for o in self.objects] + [e.action for e in self.pruned]
        return changesets.counts(actions)

    @property
    def health(self) -> Health:
        if self.state is BundleState.FAILED or self.state is BundleState.DEGRADED:
            return Health.DEGRADED
        if self.state is BundleState.READY or self.state is BundleState.REMOVED:
            return Health.HEALTHY
        return Health.PROGRESSING if self.objects else Health.MISSING

    def __repr__(self) -> str:
        return f"BundleReport({self.name}, {self.state}, {len(self.objects)} objects)"


PROBLEMS_SHOWN = 5
"""Problems of a blocked bundle quoted in its message (all are in `fleet validate`)."""


def blocked(name: BundleName, revision: Revision, *, problems: Sequence[Problem]) -> BundleReport:
    """A bundle left alone because of problems in the repository."""
    shown = [str(problem) for problem in problems[:PROBLEMS_SHOWN]]
    more = len(problems) - len(shown)
    message = "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")
    return BundleReport(name=name, revision=revision, state=BundleState.BLOCKED, message=message)


def waiting(
    name: BundleName,
    revision: Revision,
    *,
    unready: Sequence[BundleName],
    states: Mapping[BundleName, BundleState],
) -> BundleReport:
    """A bundle left alone until the bundles it depends on are ready on the cluster."""
    why = ", ".join(f"{d} ({states[d]})" if d in states else d for d in unready)
    return BundleReport(
        name=name, revision=revision, state=BundleState.WAITING, message=f"waiting for {why}"
    )


def judged(
    *,
    name: BundleName,
    revision: Revision,
    entries: list[ChangeSetEntry],
    healths: Mapping[ObjectKey, Assessment],
) -> BundleReport:
    """A bundle's report from what applying did and how each object is doing now."""
    objects = []
    for entry in entries:
        assessment = healths.get(entry.key, Assessment(Health.MISSING))
        if entry.action is Action.FAILED:
            objects.append(ObjectReport(entry.key, entry.action, Health.DEGRADED, entry.message))
        else:
            objects.append(
                ObjectReport(entry.key, entry.action, assessment.health, assessment.message)
            )
    failed = [o for o in objects if o.action is Action.FAILED]
    degraded = [o for o in objects if o.health is Health.DEGRADED]
    pending = [o for o in objects if o.health in (Health.PROGRESSING, Health.MISSING)]
    if failed:
        state, worst = BundleState.FAILED, failed
    elif degraded:
        state, worst = BundleState.DEGRADED, degraded
    elif pending:
        state, worst = BundleState.PROGRESSING, pending
    else:
        state, worst = BundleState.READY, []
    message = ""
    if worst:
        first = worst[0]
        message = (
            first.message if first.action is Action.FAILED else f"{first.key}: {first.message}"
        )
        if len(worst) > 1:
            message += f" (and {len(worst) - 1} more)"
    return BundleReport(
        name=name, revision=revision, state=state, message=message, objects=tuple(objects)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """One sync of one cluster, as it ended."""

    cluster: ClusterName
    revision: Revision
    trigger: SyncTrigger
    started_at: datetime
    finished_at: datetime
    bundles: tuple[BundleReport, ...]
    error: str | None = None
    """Why the sync as a whole failed (the cluster could not be reached, ...)."""
    trace_id: str | None = None
    wrote: bool = False
    """Whether the sync changed anything in the cluster (applied, deleted, inventory)."""

    @property
    def result(self) -> SyncResult:
        states = {bundle.state for bundle in self.bundles}
        if self.error is not None or BundleState.FAILED in states:
            ok = {BundleState.READY, BundleState.PROGRESSING, BundleState.REMOVED}
            return SyncResult.PARTIAL if self.error is None and states & ok else SyncResult.FAILED
        if BundleState.BLOCKED in states:
            return SyncResult.BLOCKED
        return SyncResult.SUCCEEDED

    @property
    def state(self) -> ClusterState:
        states = {bundle.state for bundle in self.bundles}
        if self.error is not None or BundleState.FAILED in states:
            return ClusterState.FAILED
        if BundleState.BLOCKED in states:
            return ClusterState.BLOCKED
        if BundleState.DEGRADED in states:
            return ClusterState.DEGRADED
        if states & {BundleState.PROGRESSING, BundleState.WAITING}:
            return ClusterState.PROGRESSING
        return ClusterState.READY

    @property
    def settled(self) -> bool:
        """True when nothing is left to wait for: checking again soon would change nothing."""
        return not {b.state for b in self.bundles} & {BundleState.PROGRESSING, BundleState.WAITING}

    @property
    def totals(self) -> ObjectCounts:
        return sum((bundle.counts for bundle in self.bundles), ObjectCounts())

    def record(self) -> history.SyncRecord:
        """The history row of this sync."""
        return history.SyncRecord(
            cluster=self.cluster,
            revision=self.revision,
            trigger=self.trigger,
            result=self.result,
            started_at=self.started_at,
            finished_at=self.finished_at,
            bundles=tuple(
                history.BundleOutcome(
                    name=bundle.name,
                    revision=bundle.revision,
                    result=_bundle_result(bundle.state),
                    counts=bundle.counts,
                    error=bundle.message or None if bundle.state in _UNWELL else None,
                )
                for bundle in self.bundles
            ),
            error=self.error,
            trace_id=self.trace_id,
        )

    def view(self, *, failures: int) -> ClusterView:
        """The cluster as the status API shows it (labels and connection come from the
        cluster set, drift from the drift watch)."""
        return ClusterView(
            name=self.cluster,
            state=self.state,
            revision=self.revision,
            result=self.result,
            trigger=self.trigger,
            synced_at=self.finished_at,
            trace_id=self.trace_id,
            error=self.error or _first_problem(self.bundles),
            failures=failures,
            bundles=tuple(
                BundleView(
                    name=bundle.name,
                    revision=bundle.revision,
                    state=bundle.state.value,
                    health=bundle.health.value,
                    message=bundle.message,
                    counts=bundle.counts,
                    objects=tuple(
                        ObjectView(
                            key=o.key,
                            action=o.action.value,
                            health=o.health.value,
                            message=o.message,
                        )
                        for o in bundle.objects
                    ),
                )
                for bundle in self.bundles
            ),
        )

    def __repr__(self) -> str:
        return f"SyncReport({self.cluster}, {self.revision[:12]}, {self.result}, {self.state})"


_UNWELL = frozenset({BundleState.FAILED, BundleState.BLOCKED, BundleState.DEGRADED,
                     BundleState.WAITING})  # fmt: skip


def _bundle_result(state: BundleState) -> SyncResult:
    if state is BundleState.FAILED:
        return SyncResult.FAILED
    if state is BundleState.BLOCKED:
        return SyncResult.BLOCKED
    return SyncResult.SUCCEEDED


def _first_problem(bundles: tuple[BundleReport, ...]) -> str | None:
    for bundle in bundles:
        if bundle.state in _UNWELL and bundle.message:
            return f"bundle {bundle.name}: {bundle.message}"
    return None
