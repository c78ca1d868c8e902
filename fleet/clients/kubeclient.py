"""`KubeClient`: one cluster as the engine sees it -- the `ClusterClient` protocol.

A client owns everything fleet runs for its cluster: the `ApiSession` (one connection
pool), discovery, the cache, the event delivery task, a start-up probe and one informer
per watched kind. Its tasks live in one `asyncio.TaskGroup`, run by one task that the
client owns; `close()` cancels that task, which cancels and awaits every informer and
the delivery, and then closes the session. Nothing of a closed client keeps running,
holds a connection or a file descriptor.

The probe (``GET /api``, which needs valid credentials, unlike ``/version``) makes a
cluster's connection state true from the start: an unreachable cluster or a rejected
token shows in the status at once, not at the first sync. It stops at its first
success, so it costs one request per start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Collection

from fleet.clients import discovering, informing, requesting, throttling
from fleet.clients.caching import Delivery, GroupKind, ObjectStore
from fleet.clients.inventories import Access
from fleet.clients.metering import ClientMetrics, ClusterMeter, Verb
from fleet.clients.requesting import APPLY_PATCH, JSON, ApiSession, Call
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.kube import ConnectionState, ObjectHandler, Resource
from fleet.structs.objects import ClusterName, GroupVersionKind, Manifest, ObjectKey
from fleet.structs.settings import ClientSettings

logger = logging.getLogger("fleet.clients")


class KubeClient:
    """Implements `fleet.structs.kube.ClusterClient` for one cluster."""

    def __init__(
        self,
        session: ApiSession,
        *,
        settings: ClientSettings,
        clock: Clock,
        rng: random.Random,
        meter: ClusterMeter,
    ) -> None:
        self.session = session
        self.meter = meter
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self.store = ObjectStore(session.cluster, on_change=meter.cache_size)
        self.delivery = Delivery(session.cluster)
        self.discovery = discovering.Discovery(session)
        self._informers: dict[GroupKind, tuple[informing.Informer, asyncio.Task[None]]] = {}
        self._changing = asyncio.Lock()
        self._group: asyncio.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        name: ClusterName,
        access: Access,
        *,
        settings: ClientSettings,
        metrics: ClientMetrics,
        clock: Clock,
        rng: random.Random,
    ) -> KubeClient:
        """Load the cluster's access and start its client; `ClusterError` if it cannot."""
        session = await requesting.open_session(
            name, access, settings=settings, clock=clock, rng=rng, metrics=metrics
        )
        client = cls(session, settings=settings, clock=clock, rng=rng, meter=session.meter)
        try:
            await client.start()
        except BaseException:
            # Cancelled while starting: nobody else holds the client to close it.
            await client.close()
            raise
        return client

    # -- lifetime --------------------------------------------------------------------

    async def start(self) -> None:
        """Start the delivery task and the probe; return once they run."""
        started = asyncio.Event()
        self._runner = asyncio.create_task(self._run(started), name=f"cluster {self.name}")
        self._runner.add_done_callback(self._ended)
        await started.wait()

    async def _run(self, started: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            group.create_task(self.delivery.run(), name=f"delivery {self.name}")
            group.create_task(self._probe(), name=f"probe {self.name}")
            started.set()
            await asyncio.Future()  # until close() cancels this task, and with it the group

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._group = None
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "cluster %s: client stopped unexpectedly", self.name,
                exc_info=task.exception(), extra={"cluster": self.name},
            )  # fmt: skip

    async def close(self) -> None:
        """Stop every task of the cluster, wait for them, close the session."""
        if self._closed:
            return
        self._closed = True
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.wait([self._runner])
        self._informers.clear()
        await self.session.close()
        self.meter.forget()

    async def _probe(self) -> None:
        backoff = throttling.reconnecting(self._settings, self._rng)
        while True:
            try:
                await self.session.call(
                    Call(Verb.DISCOVERY, "GET", "/api", what="discovery of /api")
                )
                return
            except errors.ClusterError:
                await self._clock.sleep(backoff.next())  # the connection state has the error

    # -- the ClusterClient protocol ----------------------------------------------------

    @property
    def name(self) -> ClusterName:
        return self.session.cluster

    @property
    def connection(self) -> ConnectionState:
        return self.session.connection.state

    @property
    def cache(self) -> ObjectStore:
        return self.store

    async def resource(self, gvk: GroupVersionKind) -> Resource:
        return await self.discovery.resource(gvk)

    async def apply(
        self, manifest: Manifest, *, field_manager: str, force: bool, dry_run: bool = False
    ) -> Manifest:
        key, gvk = self._identify(manifest)
        resource = await self.resource(gvk)
        params = {"fieldManager": field_manager}
        if force:
            params["force"] = "true"
        if dry_run:
            params["dryRun"] = "All"
        call = Call(
            Verb.APPLY,
            "PATCH",
            discovering.object_path(resource, key, cluster=self.name),
            what=f"apply of {key}",
            params=params,
            body=json.dumps(manifest, separators=(",", ":")).encode(),
            content_type=APPLY_PATCH,
            safe=True,  # applying the same configuration again gives the same object
        )
        return await self.session.call(call)

    async def delete(self, gvk: GroupVersionKind, key: ObjectKey, *, uid: str | None) -> bool:
        resource = await self.resource(gvk)
        options: dict[str, object] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid is not None:
            options["preconditions"] = {"uid": uid}
        call = Call(
            Verb.DELETE,
            "DELETE",
            discovering.object_path(resource, key, cluster=self.name),
            what=f"delete of {key}",
            body=json.dumps(options).encode(),
            content_type=JSON,
            # With a uid precondition a repeat can only delete this same object (or find
            # it gone); without one it might delete a new object of the same name.
            safe=uid is not None,
        )
        try:
            await self.session.call(call)
        except errors.ApiError as error:
            if error.code == 404:
                return False
            raise
        return True

    async def watch_kinds(self, kinds: Collection[GroupVersionKind]) -> None:
        wanted = {(gvk.group, gvk.kind): gvk for gvk in sorted(kinds)}
        async with self._changing:
            group = self._group
            if group is None or self._closed:
                raise errors.ClusterError("the client is stopped", cluster=self.name)
            stale = [kind for kind, (informer, _) in self._informers.items()
                     if wanted.get(kind) != informer.gvk]  # fmt: skip
            await informing.stop([self._informers[kind][1] for kind in stale])
            for kind in stale:
                del self._informers[kind]
                self.store.forget(kind)
            for kind, gvk in wanted.items():
                if kind in self._informers:
                    continue
                informer = informing.Informer(
                    gvk,
                    session=self.session,
                    discovery=self.discovery,
                    store=self.store,
                    delivery=self.delivery,
                    settings=self._settings,
                    clock=self._clock,
                    rng=self._rng,
                    meter=self.meter,
                )
                self.store.expect(kind)
                task = group.create_task(informer.run(), name=f"informer {self.name} {gvk}")
                self._informers[kind] = (informer, task)

    def subscribe(self, handler: ObjectHandler) -> Callable[[], None]:
        return self.delivery.subscribe(handler)

    # -- for tests, benchmarks and the status API ---------------------------------------

    @property
    def informers(self) -> list[informing.Informer]:
        return [informer for informer, _ in self._informers.values()]

    def _identify(self, manifest: Manifest) -> tuple[ObjectKey, GroupVersionKind]:
        try:
            gvk = GroupVersionKind.from_api_version(
                str(manifest["apiVersion"]), str(manifest["kind"])
            )
            return ObjectKey.from_manifest(manifest), gvk
        except (KeyError, TypeError, AttributeError):
            raise errors.ApiError(
                "a manifest needs apiVersion, kind and metadata.name",
                cluster=self.name, code=400, reason="BadRequest",
            ) from None  # fmt: skip

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.connection.phase
        return (
            f"KubeClient({self.name} at {self.session.endpoint.shown}, {state}, "
            f"{len(self._informers)} kinds, {len(self.store)} objects)"
        )
