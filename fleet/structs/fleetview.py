"""What the status API reads about the fleet: the `FleetView` protocol and its values.

The API answers "what runs where, and is it healthy?" from state the engine keeps in
memory (each cluster's last sync) and state the clients keep (labels, connection). It
must not import either, and tests must be able to serve any state without running a
controller, so the API reads through this small protocol and the runtime puts an adapter
over the engine's status board and the cluster set behind it.

The values are snapshots: frozen, replaced as a whole after each sync, so a request
never sees half a sync. They carry names, states, counts, messages fleet wrote and
*paths* of drifted fields; never a manifest, a Secret's data or a credential. Bundle
and object states are plain strings, so the engine's own enumerations (which live in
planning and the engine, above this layer) fit without a conversion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from fleet.structs.history import DriftRecord, ObjectCounts, SyncResult, SyncTrigger
from fleet.structs.kube import ConnectionState
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision


class ClusterState(StrEnum):
    """How a cluster stands after its last sync (what ``/clusters?state=`` filters on)."""

    PENDING = "pending"  # not synced yet by this process
    READY = "ready"  # every bundle applied and healthy
    PROGRESSING = "progressing"  # applied; a rollout or a dependency is not done yet
    DEGRADED = "degraded"  # applied, but an object reports a failure
    BLOCKED = "blocked"  # a bundle has problems in the repository and was left as it was
    FAILED = "failed"  # the cluster refused a write or could not be reached


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectView:
    """One applied object: what the last sync did with it and how it is doing."""

    key: ObjectKey
    action: str  # created, configured, unchanged, skipped
    health: str  # healthy, progressing, degraded, missing
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleView:
    """One bundle on one cluster."""

    name: BundleName
    revision: Revision
    state: str  # ready, progressing, waiting, degraded, blocked, failed
    health: str
    message: str = ""
    counts: ObjectCounts = field(default_factory=ObjectCounts)
    objects: tuple[ObjectView, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterView:
    """One cluster as of its last sync, with its labels and its connection."""

    name: ClusterName
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    state: ClusterState = ClusterState.PENDING
    revision: Revision | None = None  # the revision the cluster was last synced to
    result: SyncResult | None = None
    trigger: SyncTrigger | None = None
    synced_at: datetime | None = None  # when the last sync finished
    trace_id: str | None = None  # of the last sync's span
    error: str | None = None
    failures: int = 0  # failed syncs in a row
    connection: ConnectionState | None = None  # None until a client exists
    bundles: tuple[BundleView, ...] = ()
    drift: tuple[DriftRecord, ...] = ()  # the most recent drift, newest last

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    def __repr__(self) -> str:
        return (
            f"ClusterView({self.name}, {self.state}, {(self.revision or '-')[:12]},"
            f" {len(self.bundles)} bundles)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceView:
    """What the fleet serves: the last good revision, and a newer one that failed to load."""

    repository: str  # without credentials
    branch: str
    revision: Revision | None = None
    loaded_at: datetime | None = None
    failed_revision: Revision | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()  # render problems of the serving revision


class FleetView(Protocol):
    """The fleet as the status API reads it; every method answers from memory, at once."""

    def source(self) -> SourceView:
        """The repository and the revision being served."""
        ...

    def clusters(self) -> Sequence[ClusterView]:
        """Every cluster of the inventory, in name order."""
        ...

    def cluster(self, name: ClusterName) -> ClusterView | None:
        """One cluster, or None if the inventory has no such cluster."""
        ...

    def request_sync(self, name: ClusterName) -> bool:
        """Queue a sync of ``name`` now (trigger ``manual``); False if there is no such cluster."""
        ...
