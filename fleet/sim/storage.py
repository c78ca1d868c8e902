"""One virtual cluster's objects, its resourceVersion counter and its event window.

Objects are kept as JSON bytes, not dicts. A thousand clusters of twenty objects
each fit in a few tens of megabytes that way (a parsed Deployment with managedFields
is a tree of dozens of small dicts), and the hot paths get faster too: a get or a
list writes stored bytes to the socket without serialising anything, and a watch
event is those bytes with a prefix. Writers parse what they change, which costs a
few microseconds per object. The stored body leaves out `kind` and `apiVersion`,
because lists of built-in kinds do not carry them and custom resources are served at
more than one version; `StoredObject.document` puts them back.

Every write takes the next resourceVersion of the cluster (one counter per cluster,
as with one etcd) and appends an `Event` to a bounded window. Watches replay from
the window; a resourceVersion older than the window is `410 Gone`. Each event also
keeps the object as it was before, which lets `snapshot` rebuild a collection as it
was at an older resourceVersion: that is how `continue` tokens page through one
consistent list while writes go on, as they do against etcd.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from fleet.sim import resources

_NO_LABELS: Mapping[str, str] = MappingProxyType({})


def dumps(value: object) -> bytes:
    """Compact JSON, as the apiserver writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object as stored: identity, version, labels for selectors, and its JSON body."""

    namespace: str
    name: str
    resource_version: int
    labels: Mapping[str, str]
    body: bytes
    """The object as JSON without kind and apiVersion; it starts with `{"metadata":`."""

    def document(self, rtype: resources.ResourceType) -> bytes:
        """The full object as JSON, kind and apiVersion first, as the apiserver sends it."""
        return rtype.prefix + self.body[1:]

    def load(self, rtype: resources.ResourceType) -> dict[str, Any]:
        """A fresh, mutable copy of the full object."""
        document: dict[str, Any] = {"kind": rtype.kind, "apiVersion": rtype.api_version}
        document.update(json.loads(self.body))
        return document

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    def __repr__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"StoredObject({where} rv={self.resource_version}, {len(self.body)} bytes)"


def encode(obj: Mapping[str, Any]) -> StoredObject:
    """Store `obj` (whose metadata.resourceVersion is already set) as bytes."""
    metadata = obj["metadata"]
    body: dict[str, Any] = {"metadata": metadata}
    for key, value in obj.items():
        if key not in ("kind", "apiVersion", "metadata", "status"):
            body[key] = value
    if "status" in obj:
        body["status"] = obj["status"]
    labels = metadata.get("labels")
    return StoredObject(
        namespace=metadata.get("namespace") or "",
        name=metadata["name"],
        resource_version=int(metadata["resourceVersion"]),
        labels=MappingProxyType(dict(labels)) if labels else _NO_LABELS,
        body=dumps(body),
    )


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Event:
    """One change: the object after it (for DELETED, its last state) and before it."""

    type: EventType
    storage_key: str
    obj: StoredObject
    previous: StoredObject | None

    @property
    def resource_version(self) -> int:
        return self.obj.resource_version


class Watcher(Protocol):
    """What the store tells about each change to a collection a watch follows."""

    def offer(self, event: Event) -> None: ...

    def close(self) -> None:
        """End the watch (an outage, shutdown): the stream stops at once."""


class TooOld(Exception):  # noqa: N818 - named after the apiserver's "too old resource version"
    """The requested resourceVersion is older than the event window."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"too old resource version: {requested} ({compacted})")


class Store:
    """Objects of one cluster by collection, plus the recent history of changes."""

    def __init__(self, *, window: int) -> None:
        self.resource_version = 0
        self._collections: dict[str, dict[tuple[str, str], StoredObject]] = {}
        self._history: deque[Event] = deque(maxlen=max(window, 1))
        self._compacted = 0
        self._watchers: dict[str, set[Watcher]] = {}

    def get(self, storage_key: str, namespace: str, name: str) -> StoredObject | None:
        return self._collections.get(storage_key, {}).get((namespace, name))

    def objects(self, storage_key: str, namespace: str | None = None) -> list[StoredObject]:
        """The collection in key order (namespace, then name), as etcd lists it."""
        collection = self._collections.get(storage_key, {})
        return _sorted_in(collection.values(), namespace)

    def write(self, storage_key: str, obj: dict[str, Any]) -> StoredObject:
        """Create or replace `obj` at the next resourceVersion (set into `obj` too)."""
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        stored = encode(obj)
        collection = self._collections.setdefault(storage_key, {})
        previous = collection.get(stored.key)
        collection[stored.key] = stored
        kind = EventType.ADDED if previous is None else EventType.MODIFIED
        self._record(Event(kind, storage_key, stored, previous))
        return stored

    def remove(self, storage_key: str, obj: dict[str, Any]) -> StoredObject:
        """Delete `obj`; its last state is recorded at the next resourceVersion."""
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        stored = encode(obj)
        collection = self._collections.get(storage_key, {})
        previous = collection.pop(stored.key, None)
        if not collection:
            self._collections.pop(storage_key, None)
        self._record(Event(EventType.DELETED, storage_key, stored, previous))
        return stored

    def _record(self, event: Event) -> None:
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].resource_version
        self._history.append(event)
        for watcher in tuple(self._watchers.get(event.storage_key, ())):
            watcher.offer(event)

    def in_namespace(self, namespace: str) -> list[tuple[str, StoredObject]]:
        """Every (storage key, object) in `namespace`, for deleting a namespace's content."""
        return [
            (key, stored)
            for key, collection in self._collections.items()
            for (ns, _), stored in collection.items()
            if ns == namespace
        ]

    # -- history ------------------------------------------------------------------------

    @property
    def oldest_resumable(self) -> int:
        """The oldest resourceVersion a watch or a continue token may still start from."""
        return self._compacted

    def events_since(self, storage_key: str, resource_version: int) -> list[Event]:
        """Events of one collection after `resource_version`; `TooOld` if they are gone."""
        if resource_version < self._compacted:
            raise TooOld(resource_version, self._compacted)
        return [
            e
            for e in self._history
            if e.resource_version > resource_version and e.storage_key == storage_key
        ]

    def snapshot(
        self, storage_key: str, namespace: str | None, resource_version: int
    ) -> list[StoredObject]:
        """The collection as it was at `resource_version` (undoing later events)."""
        if resource_version >= self.resource_version:
            return self.objects(storage_key, namespace)
        state = dict(self._collections.get(storage_key, {}))
        for event in reversed(self.events_since(storage_key, resource_version)):
            if event.previous is None:
                state.pop(event.obj.key, None)
            else:
                state[event.obj.key] = event.previous
        return _sorted_in(state.values(), namespace)

    def compact(self, window: int | None = None) -> None:
        """Forget history: all of it, or all but the last `window` events (and keep that size)."""
        keep = 0 if window is None else max(window, 1)
        size = self._history.maxlen if window is None else keep
        events = list(self._history)
        dropped = events[: len(events) - keep] if keep else events
        if dropped:
            self._compacted = dropped[-1].resource_version
        elif window is None:
            self._compacted = self.resource_version
        self._history = deque(events[len(dropped) :], maxlen=size)

    @property
    def window(self) -> int:
        return self._history.maxlen or 0

    # -- watchers -----------------------------------------------------------------------

    def subscribe(self, storage_key: str, watcher: Watcher) -> None:
        self._watchers.setdefault(storage_key, set()).add(watcher)

    def unsubscribe(self, storage_key: str, watcher: Watcher) -> None:
        watchers = self._watchers.get(storage_key)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[storage_key]

    def watchers(self) -> list[Watcher]:
        return [w for watchers in self._watchers.values() for w in watchers]

    def __repr__(self) -> str:
        objects = sum(len(c) for c in self._collections.values())
        return (
            f"Store(rv={self.resource_version}, {objects} objects, "
            f"{len(self._history)}/{self.window} events, {len(self.watchers())} watchers)"
        )


def _sorted_in(objects: Iterable[StoredObject], namespace: str | None) -> list[StoredObject]:
    chosen = objects if namespace is None else (o for o in objects if o.namespace == namespace)
    return sorted(chosen, key=lambda o: (o.namespace, o.name))
