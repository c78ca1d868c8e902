"""Watch streams: replay from a resourceVersion, live events, bookmarks, timeouts.

A `Watch` is subscribed to one collection of the cluster's store, which offers it
every change synchronously as it commits; the watch filters by namespace and
selectors and queues the JSON line to send. Selectors are applied to both sides of a
change, as the apiserver's watch cache does: an object that stops matching arrives as
DELETED, one that starts matching as ADDED.

`stream` sends the lines. It owns no task of its own -- it runs in the request's
handler -- and wakes up only for an event, the next bookmark, the timeout, or a fault
that cuts the connection, so ten thousand idle watches cost ten thousand sleeping
handlers and their loop timers, nothing more. A bookmark is sent only when the queue
is empty, so the resourceVersion it carries is one the client has seen every event up
to. A client that does not read falls behind by at most `queue_limit` events; then
its watch is ended, as the apiserver ends unresponsive watchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum

from fleet.sim import resources, selectors, statuses, storage

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
MIN_TIMEOUT = 1800.0
"""Without timeoutSeconds, a watch lasts 30-60 minutes, like the apiserver's default."""


class Ending(StrEnum):
    """Why a stream stopped."""

    TIMEOUT = "timeout"
    CLOSED = "closed"
    DROPPED = "dropped"
    TOO_SLOW = "too slow"


class Watch:
    """One watch's subscription to a collection, and its queue of lines to send."""

    def __init__(
        self,
        rtype: resources.ResourceType,
        *,
        namespace: str | None,
        labels: selectors.LabelSelector,
        fields: selectors.FieldSelector,
        queue_limit: int,
        render: Callable[[storage.StoredObject], bytes] | None = None,
    ) -> None:
        self.rtype = rtype
        self._render = render
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self._queue_limit = queue_limit
        self._lines: deque[bytes] = deque()
        self._wakeup = asyncio.Event()
        self.ending: Ending | None = None

    def matches(self, obj: storage.StoredObject) -> bool:
        return (
            (self.namespace is None or obj.namespace == self.namespace)
            and self.fields.matches(obj.namespace, obj.name)
            and self.labels.matches(obj.labels)
        )

    def line(self, kind: str, obj: storage.StoredObject) -> bytes:
        document = obj.document(self.rtype) if self._render is None else self._render(obj)
        return b'{"type":"' + kind.encode() + b'","object":' + document + b"}\n"

    def offer(self, event: storage.Event) -> None:
        if self.ending is not None:
            return
        now = self.matches(event.obj)
        before = event.previous is not None and self.matches(event.previous)
        if event.type is storage.EventType.DELETED:
            kind = "DELETED" if before or now else None
        elif now:
            kind = "MODIFIED" if before else "ADDED"
        elif before and event.previous is not None:
            # It stopped matching: DELETED, with the old content at the new version.
            self._push(self.line("DELETED", _at_version(event.previous, event.resource_version)))
            return
        else:
            kind = None
        if kind is not None:
            self._push(self.line(kind, event.obj))

    def push_initial(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self._push(line)

    def _push(self, line: bytes) -> None:
        if len(self._lines) >= self._queue_limit:
            self.end(Ending.TOO_SLOW)
            return
        self._lines.append(line)
        self._wakeup.set()

    def end(self, why: Ending) -> None:
        if self.ending is None:
            self.ending = why
        self._wakeup.set()

    def close(self) -> None:
        self.end(Ending.CLOSED)

    async def next(self, patience: float) -> bytes | None:
        """The next line, or None after `patience` seconds with nothing to send."""
        if not self._lines and self.ending is None:
            self._wakeup.clear()
            # A line may arrive in the same turn as the timeout: it must still be sent
            # before any bookmark, or a client resuming from that bookmark would miss it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(patience):
                    await self._wakeup.wait()
        return self._lines.popleft() if self._lines and self.ending is None else None

    def __repr__(self) -> str:
        where = self.namespace if self.namespace is not None else "all namespaces"
        state = self.ending or "open"
        return f"Watch({self.rtype.storage_key} in {where}, {len(self._lines)} queued, {state})"


def _at_version(obj: storage.StoredObject, version: int) -> storage.StoredObject:
    document = json.loads(obj.body)
    document["metadata"]["resourceVersion"] = str(version)
    return storage.encode(document)


def bookmark(rtype: resources.ResourceType, version: int, *, initial_end: bool = False) -> bytes:
    metadata: dict[str, object] = {"resourceVersion": str(version)}
    if initial_end:
        metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
    obj = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata}
    return b'{"type":"BOOKMARK","object":' + storage.dumps(obj) + b"}\n"


def error_line(error: statuses.ApiError) -> bytes:
    return b'{"type":"ERROR","object":' + storage.dumps(error.status()) + b"}\n"


def default_timeout(rng: random.Random) -> float:
    return MIN_TIMEOUT * (1 + rng.random())


async def stream(
    watch: Watch,
    *,
    write: Callable[[bytes], Awaitable[None]],
    current_version: Callable[[], int],
    lifetime: float,
    bookmarks: bool,
    bookmark_interval: float,
    drop_after: float | None,
) -> Ending:
    """Send `watch`'s lines through `write` until the watch ends; say why it ended."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + lifetime
    drop_at = start + drop_after if drop_after is not None else None
    next_bookmark = start + bookmark_interval
    while True:
        now = loop.time()
        if watch.ending is not None:
            return watch.ending
        if drop_at is not None and now >= drop_at:
            return Ending.DROPPED
        if now >= deadline:
            return Ending.TIMEOUT
        wake = min(deadline, drop_at or deadline, next_bookmark if bookmarks else deadline)
        line = await watch.next(max(wake - now, 0.0))
        if line is not None:
            await write(line)
        elif bookmarks and watch.ending is None and loop.time() >= next_bookmark:
            await write(bookmark(watch.rtype, current_version()))
            next_bookmark = loop.time() + bookmark_interval


def open_watch(
    store: storage.Store,
    rtype: resources.ResourceType,
    *,
    namespace: str | None,
    labels: selectors.LabelSelector,
    fields: selectors.FieldSelector,
    resource_version: str,
    resource_version_match: str,
    send_initial_events: bool,
    bookmarks: bool,
    queue_limit: int,
    render: Callable[[storage.StoredObject], bytes] | None = None,
) -> Watch:
    """A watch subscribed to `store`, with its first lines queued.

    Without a resourceVersion (or with "0"), or with sendInitialEvents, the watch starts
    with an ADDED event per existing object; from a resourceVersion N it replays the
    events after N. Raises `storage.TooOld` when N is older than the event window
    (the caller sends the 410 as an ERROR event), and `ApiError` for a bad request.
    Nothing awaits between reading the state and subscribing, so no event is missed.
    `render` replaces the object of each event (a Table, for kubectl get --watch).
    """
    if send_initial_events and (resource_version_match != "NotOlderThan" or not bookmarks):
        raise statuses.invalid(
            kind="ListOptions", group="meta.k8s.io", name="",
            causes=[statuses.Cause(
                "FieldValueForbidden",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                "NotOlderThan and allowWatchBookmarks to true",
                "sendInitialEvents",
            )],
        )  # fmt: skip
    version = -1
    if resource_version not in ("", "0"):
        try:
            version = int(resource_version)
        except ValueError:
            raise statuses.bad_request(f"invalid resourceVersion: {resource_version!r}") from None
        if version > store.resource_version:
            raise statuses.timeout(
                f"Too large resource version: {version}, current: {store.resource_version}"
            )
    watch = Watch(
        rtype, namespace=namespace, labels=labels, fields=fields, queue_limit=queue_limit,
        render=render,
    )  # fmt: skip
    if version < 0 or send_initial_events:
        existing = store.objects(rtype.storage_key, namespace)
        watch.push_initial(watch.line("ADDED", o) for o in existing if watch.matches(o))
        if send_initial_events:
            watch.push_initial([bookmark(rtype, store.resource_version, initial_end=True)])
    else:
        for event in store.events_since(rtype.storage_key, version):
            watch.offer(event)
    store.subscribe(rtype.storage_key, watch)
    return watch
