"""What the engine counts: syncs, their duration, objects changed, drift, revisions.

Metrics go to a registry the caller owns (never prometheus' global one). Labels are
chosen for a thousand clusters: counters and histograms are by result, trigger or
action -- a handful of series -- while what is per cluster (its state, its last sync) is
in the status API and in one gauge of clusters by state, computed at scrape time from
the status board so it is exact without a background task. The work queue's own
metrics (depth, retries, latencies) are `fleet.engine.queueing.QueueMetrics`; requests
by verb per cluster are the clients' (`fleet_kube_requests_total`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fleet.engine.reports import SyncReport
from fleet.structs.fleetview import ClusterState
from fleet.structs.history import DriftAction

_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class EngineMetrics:
    """The engine's Prometheus metrics on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.syncs = Counter(
            "fleet_syncs",
            "Cluster syncs, by result and by what triggered them.",
            ["result", "trigger"],
            registry=registry,
        )
        self.duration = Histogram(
            "fleet_sync_duration_seconds",
            "Time one cluster sync took, from its start to its report.",
            ["result"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.objects = Counter(
            "fleet_objects",
            "Objects that syncs created, configured, deleted or failed to apply.",
            ["action"],
            registry=registry,
        )
        self.drift = Counter(
            "fleet_drift_events",
            "Changes to managed objects made by someone other than fleet, by what fleet did.",
            ["action"],
            registry=registry,
        )
        self.revisions = Counter(
            "fleet_revisions_loaded",
            "Revisions of the fleet repository loaded, by outcome (loaded, failed).",
            ["outcome"],
            registry=registry,
        )
        self.clusters = Gauge(
            "fleet_clusters",
            "Clusters by the state of their last sync.",
            ["state"],
            registry=registry,
        )
        self.problems = Gauge(
            "fleet_render_problems",
            "Problems found rendering the revision being served (bundles blocked).",
            registry=registry,
        )
        self._drift = {action: self.drift.labels(action.value) for action in DriftAction}

    def count_states(self, states: Callable[[], Mapping[ClusterState, int]]) -> None:
        """Compute the clusters-by-state gauge from ``states()`` at every scrape."""
        for state in ClusterState:
            self.clusters.labels(state.value).set_function(
                lambda state=state: float(states().get(state, 0))  # type: ignore[misc]
            )

    def synced(self, report: SyncReport) -> None:
        self.syncs.labels(report.result.value, report.trigger.value).inc()
        seconds = (report.finished_at - report.started_at).total_seconds()
        self.duration.labels(report.result.value).observe(seconds)
        totals = report.totals
        for action in ("created", "configured", "deleted", "failed"):
            count = getattr(totals, action)
            if count:
                self.objects.labels(action).inc(count)

    def drifted(self, action: DriftAction) -> None:
        self._drift[action].inc()
