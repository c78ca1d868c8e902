"""An informer: one kind of one cluster, listed and then watched into the cluster's cache.

This is client-go's Reflector, with its rules:

- List the managed objects of the kind (paginated with ``limit``/``continue``), then
  watch from the list's resourceVersion with ``allowWatchBookmarks``. Remember the
  last resourceVersion seen, bookmarks included, and resume every watch from it, so a
  dropped or timed-out watch costs one watch request and no list: an idle, in-sync
  cluster makes only watch requests.
- Each watch asks for a random server timeout between the configured bounds (5-10 min
  by default), so that the watches of a thousand clusters end and restart spread out.
- On ``410 Gone`` (the server no longer has that resourceVersion), list again and hand
  on only the difference to the cache: added, modified (a new resourceVersion) and
  deleted objects.
- After a failure -- no answer, an error, a cut stream -- wait with jittered
  exponential backoff (0.8 s to 30 s by default) before trying again; the backoff
  starts over once a watch has delivered something. A watch that ends cleanly having
  delivered nothing also backs off, so that no server behaviour can make an informer
  spin.
- A kind the cluster does not serve (a CRD not installed yet) has no objects: the
  informer counts as synced with none and waits, without polling, until discovery of
  its group-version changes -- which is what the engine's lookup of the kind does
  after it applies the CRD.

Nothing that a server sends can end an informer; only cancellation does.
"""

from __future__ import annotations

import asyncio
import logging
import random
from enum import StrEnum
from typing import Any

from fleet.clients import discovering, throttling
from fleet.clients.caching import Delivery, ObjectStore, version_of
from fleet.clients.metering import ClusterMeter, Verb
from fleet.clients.requesting import ApiSession, Call, api_error
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.kube import ObjectEvent, Resource
from fleet.structs.objects import GroupVersionKind, Manifest, ObjectKey
from fleet.structs.settings import ClientSettings

logger = logging.getLogger("fleet.clients")


class Phase(StrEnum):
    """What an informer is doing, for its repr and the logs."""

    STARTING = "starting"
    LISTING = "listing"
    WATCHING = "watching"
    BACKING_OFF = "backing off"
    UNSERVED = "waiting for the kind to be served"


class _GoneError(Exception):
    """The watch's resourceVersion is too old (410): list again."""


class Informer:
    """Keeps one kind's managed objects of one cluster in the cluster's `ObjectStore`."""

    def __init__(
        self,
        gvk: GroupVersionKind,
        *,
        session: ApiSession,
        discovery: discovering.Discovery,
        store: ObjectStore,
        delivery: Delivery,
        settings: ClientSettings,
        clock: Clock,
        rng: random.Random,
        meter: ClusterMeter,
    ) -> None:
        self.gvk = gvk
        self.kind = (gvk.group, gvk.kind)
        self.version: str | None = None
        """The last resourceVersion seen (None: list before watching)."""
        self.phase = Phase.STARTING
        self._session = session
        self._discovery = discovery
        self._store = store
        self._delivery = delivery
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self._meter = meter
        self._resource: Resource | None = None
        self._stale = False
        self._watches = 0
        self._delivered = False
        self._backoff = throttling.reconnecting(settings, rng)

    @property
    def cluster(self) -> str:
        return self._session.cluster

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            listing = self.version is None
            try:
                resource = await self._resolve()
                if listing:
                    await self._list(resource)
                if not await self._watch(resource):
                    await self._pause(None)
            except _GoneError:
                self.version = None
                self._meter.relisted()
                if listing and not self._delivered:
                    # Too old straight after a list: relisting at once could go on forever.
                    await self._pause(None)
            except errors.ClusterError as error:
                if isinstance(error, errors.ApiError) and error.code == 404:
                    self._stale = True  # the kind may be gone (CRD deleted): ask discovery
                    self.version = None
                await self._pause(error)
            except Exception:  # nothing a server sends may end an informer
                logger.exception("cluster %s: informer for %s failed", self.cluster, self.gvk)
                await self._pause(None)

    async def _resolve(self) -> Resource:
        while True:
            if self._stale:
                self._stale = False
                await self._discovery.refresh(self.gvk.group, self.gvk.version)
                self._resource = self._discovery.cached(self.gvk)
            elif self._resource is None:
                self._resource = await self._discovery.lookup(self.gvk)
            if self._resource is not None:
                return self._resource
            # Not served: then nothing of it exists. Say so, and wait for discovery to change.
            self.phase = Phase.UNSERVED
            self._delivery.send(self._store.replace(self.kind, {}))
            self._store.listed(self.kind)
            self.version = None
            await self._discovery.changed(self._discovery.generation)

    async def _list(self, resource: Resource) -> None:
        self.phase = Phase.LISTING
        path = discovering.collection_path(resource)
        params = {"labelSelector": self._settings.managed_selector}
        try:
            listed, version = await self._pages(
                path, {**params, "limit": str(self._settings.list_page_size)}
            )
        except errors.ApiError as error:
            if error.code != 410:
                raise
            # A continue token outlived the server's history: list whole instead, as
            # client-go does.
            listed, version = await self._pages(path, params)
        self._delivery.send(self._store.replace(self.kind, listed))
        self._store.listed(self.kind)
        self.version = version

    async def _pages(
        self, path: str, params: dict[str, str]
    ) -> tuple[dict[ObjectKey, Manifest], str]:
        listed: dict[ObjectKey, Manifest] = {}
        while True:
            call = Call(
                Verb.LIST, "GET", path, what=f"list of {self.gvk}", params=params, safe=True
            )
            answer = await self._session.call(call)
            for item in answer.get("items") or []:
                obj = self._own(item)
                listed[self._key(obj)] = obj
            metadata = answer.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                return listed, str(metadata.get("resourceVersion") or "")
            params = {**params, "continue": str(token)}

    async def _watch(self, resource: Resource) -> bool:
        """One watch from `version`; True if it delivered anything before it ended cleanly."""
        seconds = self._rng.randint(
            int(self._settings.watch_timeout_min), int(self._settings.watch_timeout_max)
        )
        params = {
            "watch": "true",
            "labelSelector": self._settings.managed_selector,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(seconds),
        }
        if self.version:
            params["resourceVersion"] = self.version
        if self._watches:
            self._meter.reconnected()
        self._watches += 1
        path = discovering.collection_path(resource)
        call = Call(Verb.WATCH, "GET", path, what=f"watch of {self.gvk}", params=params)
        self._delivered = False
        async with self._session.watch(call, seconds=seconds) as events:
            self.phase = Phase.WATCHING
            async for event in events:
                self._handle(event)
                if not self._delivered:
                    self._delivered = True
                    self._backoff.reset()
        return self._delivered

    def _handle(self, event: Any) -> None:
        kind = event.get("type") if isinstance(event, dict) else None
        obj = event.get("object") if isinstance(event, dict) else None
        if not isinstance(obj, dict):
            raise errors.ClusterError(
                f"watch of {self.gvk}: an event without an object", cluster=self.cluster
            )
        if kind == "ERROR":
            code = obj.get("code")
            error = api_error(f"watch of {self.gvk}", cluster=self.cluster,
                              code=code if isinstance(code, int) else 500, body=obj)  # fmt: skip
            if error.code == 410:
                raise _GoneError
            raise error
        version = version_of(obj)
        change: ObjectEvent | None = None
        if kind in ("ADDED", "MODIFIED"):
            obj = self._own(obj)
            change = self._store.put(self._key(obj), obj)
        elif kind == "DELETED":
            change = self._store.remove(self._key(self._own(obj)))
        if change is not None:
            self._delivery.send((change,))
        if version:
            self.version = version  # bookmarks too: they are how an idle watch moves on

    def _own(self, obj: Manifest) -> Manifest:
        # Items of a list of a built-in kind carry no apiVersion and kind.
        obj["apiVersion"] = self.gvk.api_version
        obj["kind"] = self.gvk.kind
        return obj

    def _key(self, obj: Manifest) -> ObjectKey:
        metadata = obj.get("metadata") or {}
        return ObjectKey(
            self.gvk.group,
            self.gvk.kind,
            str(metadata.get("namespace") or ""),
            str(metadata["name"]),
        )

    async def _pause(self, error: errors.ClusterError | None) -> None:
        self.phase = Phase.BACKING_OFF
        delay = self._backoff.next()
        if isinstance(error, errors.ApiError) and error.retry_after:
            delay = max(delay, min(error.retry_after, self._settings.reconnect_max))
        if error is not None:
            logger.info(
                "cluster %s: %s; retrying in %.1f s", self.cluster, error.message, delay,
                extra={"cluster": self.cluster, "kind": str(self.gvk)},
            )  # fmt: skip
        await self._clock.sleep(delay)

    def __repr__(self) -> str:
        return f"Informer({self.cluster} {self.gvk}, {self.phase}, resourceVersion={self.version})"


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel informer tasks and wait until they have ended."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
