"""How the engine sees a Kubernetes cluster: a client, a cache of managed objects, events.

These protocols are the seam between the engine and `fleet.clients` (the one package
that speaks to API servers). They are small on purpose -- get, apply, delete,
discovery, and a cache that informers keep current -- so that the engine can be tested
with fakes, and so that everything the engine does to a cluster is visible here.

The engine reads live state only from the `ObjectCache`: an in-sync cluster costs no
API call. It writes with server-side apply and deletes with a uid precondition, so that
it never removes an object that was recreated by someone else since it last saw it.
No type of the Kubernetes client library appears here: objects are plain JSON values.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from fleet.structs.clusters import Cluster
from fleet.structs.objects import ClusterName, GroupVersionKind, Manifest, ObjectKey


class EventType(StrEnum):
    """What happened to a cached object, as the informer delivers it."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One change of one managed object in one cluster's cache.

    ``old`` is the cached object before the change (None when added); ``new`` is the
    object after it (None when deleted). Events for one object arrive in order.
    """

    cluster: ClusterName
    type: EventType
    key: ObjectKey
    old: Manifest | None
    new: Manifest | None

    def __repr__(self) -> str:
        return f"ObjectEvent({self.cluster}, {self.type}, {self.key})"


ObjectHandler = Callable[[ObjectEvent], None]
"""Called on the event loop for every event; it must not block (enqueue, do not work)."""


@dataclass(frozen=True, slots=True)
class Resource:
    """What discovery says about a kind on one cluster: where it is served, and its scope."""

    gvk: GroupVersionKind
    plural: str
    namespaced: bool


class ConnectionPhase(StrEnum):
    """Whether fleet can talk to a cluster right now."""

    CONNECTING = "connecting"
    READY = "ready"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """A cluster's connection, as the status API shows it.

    ``last_error`` is a message fit for people and logs: never a credential.
    """

    phase: ConnectionPhase
    since: datetime.datetime
    last_error: str | None = None
    failures: int = 0


class ObjectCache(Protocol):
    """The managed objects of one cluster, as its informers last saw them.

    Only objects carrying fleet's managed-by label are held; reads never do I/O.
    """

    def get(self, key: ObjectKey) -> Manifest | None:
        """The cached object with this key, or None."""
        ...

    def by_bundle(self, bundle: str) -> Sequence[Manifest]:
        """Every cached object labelled as belonging to ``bundle``."""
        ...

    def by_kind(self, group: str, kind: str) -> Sequence[Manifest]:
        """Every cached object of one kind, in key order."""
        ...

    def has_synced(self) -> bool:
        """True once every informer started so far has listed its kind."""
        ...

    async def wait_synced(self) -> None:
        """Return once `has_synced()` is true."""
        ...


class ClusterClient(Protocol):
    """One cluster's API, with rate limiting, timeouts and safe retries inside.

    Every method raises `fleet.structs.errors.ClusterError` (or its `ApiError`) when the
    cluster cannot be reached or refuses the request; the message names the cluster and,
    where there is one, the object.
    """

    @property
    def name(self) -> ClusterName: ...

    @property
    def connection(self) -> ConnectionState: ...

    @property
    def cache(self) -> ObjectCache: ...

    async def resource(self, gvk: GroupVersionKind) -> Resource:
        """Discovery for one kind; an unknown kind refreshes discovery once before failing.

        A CRD applied earlier in the same sync must be usable here.
        """
        ...

    async def apply(
        self, manifest: Manifest, *, field_manager: str, force: bool, dry_run: bool = False
    ) -> Manifest:
        """Server-side apply of ``manifest``; returns the object as the server stored it."""
        ...

    async def delete(self, gvk: GroupVersionKind, key: ObjectKey, *, uid: str | None) -> bool:
        """Delete with a uid precondition (when given); False if it was already gone."""
        ...

    async def watch_kinds(self, kinds: Collection[GroupVersionKind]) -> None:
        """Run informers for exactly these kinds: start the missing ones, stop the rest."""
        ...

    def subscribe(self, handler: ObjectHandler) -> Callable[[], None]:
        """Deliver every cache event to ``handler``; call the result to stop."""
        ...


class ClusterSet(Protocol):
    """The clusters of the fleet as the inventory currently names them."""

    def clusters(self) -> Sequence[Cluster]:
        """Every cluster, with its labels, in name order."""
        ...

    def client(self, name: ClusterName) -> ClusterClient | None:
        """The client of a cluster, or None if the inventory no longer has it."""
        ...

    def subscribe(self, handler: Callable[[Sequence[Cluster]], None]) -> Callable[[], None]:
        """Call ``handler`` with the new list whenever clusters are added, removed or relabelled."""
        ...
