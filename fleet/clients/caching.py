"""One cluster's cache of managed objects, and the delivery of its events to handlers.

`ObjectStore` is the indexer of client-go's informer pipeline: the informers of one
cluster write into it, the engine reads from it, and reads never do I/O. Each object is
held once, as the dict decoded from the API server, and the indexes (by kind, by the
``fleet.dev/bundle`` label) hold keys, not copies, so memory grows with managed objects
only. Objects in it (and in events) are shared, read-only values: nobody may change one.

`Delivery` hands events to handlers from a queue of its own, drained by one task per
cluster. An informer never waits for a handler, and a slow handler delays only its own
cluster's events; events of one cluster (hence of one object) arrive in order.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Iterable, Sequence

from fleet.structs.kube import EventType, ObjectEvent, ObjectHandler
from fleet.structs.objects import ClusterName, Manifest, ObjectKey

logger = logging.getLogger("fleet.clients")

BUNDLE_LABEL = "fleet.dev/bundle"
"""The label rendering puts on every object fleet applies, naming its bundle."""

GroupKind = tuple[str, str]

DELIVERY_BATCH = 256
"""Events handed out before the delivery task lets other tasks run."""


def bundle_of(obj: Manifest) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    value = labels.get(BUNDLE_LABEL)
    return value if isinstance(value, str) else None


def version_of(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class ObjectStore:
    """Implements `fleet.structs.kube.ObjectCache` for one cluster."""

    def __init__(self, cluster: ClusterName, *, on_change: Callable[[int], None]) -> None:
        self.cluster = cluster
        self._on_change = on_change
        self._objects: dict[ObjectKey, Manifest] = {}
        self._kinds: dict[GroupKind, set[ObjectKey]] = {}
        self._bundles: dict[str, set[ObjectKey]] = {}
        self._unsynced: set[GroupKind] = set()
        self._synced = asyncio.Event()
        self._synced.set()

    # -- reads (the ObjectCache protocol) --------------------------------------------

    def get(self, key: ObjectKey) -> Manifest | None:
        return self._objects.get(key)

    def by_bundle(self, bundle: str) -> Sequence[Manifest]:
        return [self._objects[key] for key in sorted(self._bundles.get(bundle, ()))]

    def by_kind(self, group: str, kind: str) -> Sequence[Manifest]:
        """Every cached object of one kind, in key order."""
        return [self._objects[key] for key in sorted(self._kinds.get((group, kind), ()))]

    def has_synced(self) -> bool:
        return not self._unsynced

    async def wait_synced(self) -> None:
        while self._unsynced:
            await self._synced.wait()

    def __len__(self) -> int:
        return len(self._objects)

    # -- writes (by informers) -----------------------------------------------------

    def expect(self, kind: GroupKind) -> None:
        """An informer for ``kind`` starts: the cache is not synced until it has listed."""
        self._unsynced.add(kind)
        self._synced.clear()

    def listed(self, kind: GroupKind) -> None:
        self._unsynced.discard(kind)
        if not self._unsynced:
            self._synced.set()

    def forget(self, kind: GroupKind) -> None:
        """The informer for ``kind`` stopped: drop its objects, without events (they were
        not deleted; fleet stopped looking at them)."""
        for key in self._kinds.pop(kind, set()):
            self._unindex(key, self._objects.pop(key))
        self.listed(kind)
        self._on_change(len(self._objects))

    def put(self, key: ObjectKey, obj: Manifest) -> ObjectEvent:
        """Store ``obj`` (added or modified); return the event for it."""
        old = self._objects.get(key)
        if old is not None:
            self._unindex(key, old)
        self._objects[key] = obj
        self._kinds.setdefault((key.group, key.kind), set()).add(key)
        bundle = bundle_of(obj)
        if bundle is not None:
            self._bundles.setdefault(bundle, set()).add(key)
        if old is None:
            self._on_change(len(self._objects))
        kind = EventType.ADDED if old is None else EventType.MODIFIED
        return ObjectEvent(self.cluster, kind, key, old, obj)

    def remove(self, key: ObjectKey) -> ObjectEvent | None:
        """Drop ``key``; the DELETED event, or None if it was not cached."""
        old = self._objects.pop(key, None)
        if old is None:
            return None
        self._unindex(key, old)
        kind = self._kinds.get((key.group, key.kind))
        if kind is not None:
            kind.discard(key)
        self._on_change(len(self._objects))
        return ObjectEvent(self.cluster, EventType.DELETED, key, old, None)

    def replace(self, kind: GroupKind, listed: dict[ObjectKey, Manifest]) -> list[ObjectEvent]:
        """Make ``kind``'s objects exactly ``listed`` (a fresh list); the events that takes.

        An object whose resourceVersion did not change keeps its cached value and causes
        no event, so a relist after `410 Gone` delivers only what really changed.
        """
        events = []
        for key in sorted(self._kinds.get(kind, set()) - listed.keys()):
            event = self.remove(key)
            if event is not None:
                events.append(event)
        for key, obj in listed.items():
            old = self._objects.get(key)
            if old is None or version_of(old) != version_of(obj):
                events.append(self.put(key, obj))
        return events

    def _unindex(self, key: ObjectKey, obj: Manifest) -> None:
        bundle = bundle_of(obj)
        if bundle is not None:
            keys = self._bundles.get(bundle)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._bundles[bundle]

    def __repr__(self) -> str:
        state = "synced" if self.has_synced() else f"{len(self._unsynced)} kinds listing"
        return f"ObjectStore({self.cluster}: {len(self._objects)} objects, {state})"


class Delivery:
    """A cluster's queue of events and the handlers that receive them; `run()` drains it."""

    def __init__(self, cluster: ClusterName) -> None:
        self.cluster = cluster
        self._queue: collections.deque[ObjectEvent] = collections.deque()
        self._handlers: tuple[ObjectHandler, ...] = ()
        self._wake = asyncio.Event()

    def subscribe(self, handler: ObjectHandler) -> Callable[[], None]:
        self._handlers = (*self._handlers, handler)

        def unsubscribe() -> None:
            self._handlers = tuple(h for h in self._handlers if h is not handler)

        return unsubscribe

    def send(self, events: Iterable[ObjectEvent]) -> None:
        self._queue.extend(events)
        if self._queue:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        """Hand every queued event to every handler, in order, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            handed = 0
            while self._queue:
                event = self._queue.popleft()
                for handler in self._handlers:
                    try:
                        handler(event)
                    except Exception:  # a broken handler must not stop the others
                        logger.exception(
                            "cluster %s: a handler failed on %r", self.cluster, event,
                            extra={"cluster": self.cluster},
                        )  # fmt: skip
                handed += 1
                if handed % DELIVERY_BATCH == 0:
                    await asyncio.sleep(0)  # a flood on one cluster must not hold the loop

    def __repr__(self) -> str:
        return (
            f"Delivery({self.cluster}: {len(self._handlers)} handlers, {len(self._queue)} queued)"
        )
