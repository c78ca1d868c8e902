"""`StatusBoard`: the fleet as the status API reads it, kept current by the controller.

The board implements `fleet.structs.fleetview.FleetView`. It keeps, per cluster, the
view made from its last sync report (a frozen `ClusterView`, replaced whole after each
sync, so a request never sees half a sync), the most recent drift records, and, for
the fleet, the revision served and the last one that failed to load. Labels and the
connection state are not copied into it: they are read from the cluster set when a
request asks, so they are never stale. Every read answers from memory at once.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from fleet.structs.clusters import Cluster
from fleet.structs.fleetview import ClusterState, ClusterView, SourceView
from fleet.structs.history import DriftRecord
from fleet.structs.kube import ClusterSet
from fleet.structs.objects import ClusterName, Revision
from fleet.structs.sources import GitSource


class StatusBoard:
    """Implements `FleetView` over the controller's reports and the cluster set."""

    def __init__(
        self,
        *,
        clusters: ClusterSet,
        source: GitSource,
        request_sync: Callable[[ClusterName], None],
        drift_shown: int,
    ) -> None:
        self._clusters = clusters
        self._source = source
        self._request_sync = request_sync
        self._drift_shown = drift_shown
        self._views: dict[ClusterName, ClusterView] = {}
        self._drift: dict[ClusterName, collections.deque[DriftRecord]] = {}
        self._serving = SourceView(repository=source.url, branch=source.branch)

    # -- what the controller tells it ------------------------------------------------------

    def reported(self, view: ClusterView) -> None:
        """A cluster's last sync, as a view (without labels, connection and drift)."""
        self._views[view.name] = view

    def advanced(self, name: ClusterName, revision: Revision) -> None:
        """A new revision left the cluster's desired state as it was: it is at it now."""
        view = self._views.get(name)
        if view is not None and view.revision != revision:
            self._views[name] = dataclasses.replace(view, revision=revision)

    def drifted(self, record: DriftRecord) -> None:
        if self._drift_shown:
            shown = self._drift.setdefault(
                record.cluster, collections.deque(maxlen=self._drift_shown)
            )
            shown.append(record)

    def forget(self, name: ClusterName) -> None:
        """The cluster left the inventory."""
        self._views.pop(name, None)
        self._drift.pop(name, None)

    def loaded(self, revision: Revision, *, at: datetime, problems: Sequence[str]) -> None:
        """``revision`` is served now (its render problems block only their bundles)."""
        self._serving = dataclasses.replace(
            self._serving,
            revision=revision,
            loaded_at=at,
            problems=tuple(problems),
            failed_revision=None,
            error=None,
        )

    def load_failed(self, revision: Revision, *, error: str) -> None:
        """``revision`` could not be loaded; the one served before goes on being served."""
        self._serving = dataclasses.replace(self._serving, failed_revision=revision, error=error)

    # -- FleetView ----------------------------------------------------------------------------

    def source(self) -> SourceView:
        return self._serving

    def clusters(self) -> Sequence[ClusterView]:
        return [self._compose(cluster) for cluster in self._clusters.clusters()]

    def cluster(self, name: ClusterName) -> ClusterView | None:
        found = next((c for c in self._clusters.clusters() if c.name == name), None)
        return self._compose(found) if found is not None else None

    def request_sync(self, name: ClusterName) -> bool:
        if not any(cluster.name == name for cluster in self._clusters.clusters()):
            return False
        self._request_sync(name)
        return True

    # -- for metrics ---------------------------------------------------------------------------

    def states(self) -> Mapping[ClusterState, int]:
        """How many clusters are in each state (pending: not synced yet)."""
        counted = collections.Counter(
            self._views[c.name].state if c.name in self._views else ClusterState.PENDING
            for c in self._clusters.clusters()
        )
        return dict(counted)

    def _compose(self, cluster: Cluster) -> ClusterView:
        view = self._views.get(cluster.name) or ClusterView(name=cluster.name)
        client = self._clusters.client(cluster.name)
        return dataclasses.replace(
            view,
            labels=cluster.labels,
            connection=client.connection if client is not None else None,
            drift=tuple(self._drift.get(cluster.name, ())),
        )

    def __repr__(self) -> str:
        return (
            f"StatusBoard({len(self._views)} clusters reported, serving {self._serving.revision})"
        )
