"""What the tests of fleet.clients share: settings, manifests, another client, waiting.

`Writer` is "another client": it changes objects over raw HTTP (server-side apply with
its own field manager, and deletes), never through fleet.clients, so that what fleet's
caches see is what any other client would have done. `server_state` lists the managed
objects the same way, to compare a cache with the server's truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from fleet.clients import connecting, inventories, requesting
from fleet.clients.kubeclient import KubeClient
from fleet.clients.metering import ClientMetrics, ClusterMeter
from fleet.sim import serving
from fleet.structs.clock import Clock, SystemClock
from fleet.structs.objects import GroupVersionKind, Manifest, ObjectKey
from fleet.structs.settings import ClientSettings
from tests.support import simulator
from tests.support.clock import FakeClock

MANAGED = {"app.kubernetes.io/managed-by": "fleet"}
CONFIGMAP = GroupVersionKind("", "v1", "ConfigMap")
SERVICE = GroupVersionKind("", "v1", "Service")
DEPLOYMENT = GroupVersionKind("apps", "v1", "Deployment")
PLURALS = {CONFIGMAP: "configmaps", SERVICE: "services", DEPLOYMENT: "deployments"}


def settings(inventory: Path, **overrides: Any) -> ClientSettings:
    """Client settings for tests: short backoffs (a failure costs tenths of a second),
    and the inventory follower off unless a test turns it on."""
    chosen: dict[str, Any] = {
        "inventory": inventory,
        "inventory_poll_interval": 0.0,
        "retry_initial": 0.05,
        "retry_max": 0.5,
        "reconnect_initial": 0.05,
        "reconnect_max": 0.5,
    }
    chosen.update(overrides)
    return ClientSettings(**chosen)


def manifest(
    gvk: GroupVersionKind,
    name: str,
    *,
    namespace: str = "default",
    bundle: str | None = "b1",
    managed: bool = True,
    value: str = "1",
) -> Manifest:
    """A small object of one of the test kinds; ``value`` changes its content."""
    labels: dict[str, str] = dict(MANAGED) if managed else {}
    if bundle is not None:
        labels["fleet.dev/bundle"] = bundle
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    body: dict[str, Any] = {"apiVersion": gvk.api_version, "kind": gvk.kind, "metadata": metadata}
    if gvk == CONFIGMAP:
        body["data"] = {"value": value}
    elif gvk == SERVICE:
        body["spec"] = {"selector": {"app": name}, "ports": [{"port": 80, "name": f"p{value}"}]}
    else:
        containers = [{"name": "main", "image": f"web:{value}"}]
        template = {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}
        body["spec"] = {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                        "template": template}  # fmt: skip
    return body


def key_of(gvk: GroupVersionKind, name: str, namespace: str = "default") -> ObjectKey:
    return ObjectKey(gvk.group, gvk.kind, namespace, name)


def collection(gvk: GroupVersionKind, namespace: str | None = None) -> str:
    base = "/api/v1" if not gvk.group else f"/apis/{gvk.group}/{gvk.version}"
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{where}/{PLURALS[gvk]}"


class Writer:
    """Another client of one simulator: applies and deletes objects over raw HTTP."""

    def __init__(self, sim: serving.Simulator) -> None:
        self._sim = sim
        self._sessions: dict[str, simulator.ApiSession] = {}

    async def __aenter__(self) -> Writer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in self._sessions.values():
            await session.__aexit__(None, None, None)

    async def _session(self, cluster: str) -> simulator.ApiSession:
        if cluster not in self._sessions:
            self._sessions[cluster] = await simulator.ApiSession(self._sim, cluster).__aenter__()
        return self._sessions[cluster]

    async def apply(self, cluster: str, body: Manifest) -> int:
        """Server-side apply as manager ``tester``; the HTTP status."""
        gvk = GroupVersionKind.from_api_version(body["apiVersion"], body["kind"])
        meta = body["metadata"]
        path = f"{collection(gvk, meta['namespace'])}/{meta['name']}"
        session = await self._session(cluster)
        response = await session.request(
            "PATCH", path, data=json.dumps(body).encode(),
            content_type="application/apply-patch+yaml",
            params={"fieldManager": "tester", "force": "true"},
        )  # fmt: skip
        return response.status

    async def delete(self, cluster: str, gvk: GroupVersionKind, name: str) -> int:
        session = await self._session(cluster)
        response = await session.request("DELETE", f"{collection(gvk, 'default')}/{name}")
        return response.status

    async def server_state(self, cluster: str, gvk: GroupVersionKind) -> dict[ObjectKey, str]:
        """The managed objects of a kind on the server: key -> resourceVersion."""
        session = await self._session(cluster)
        response = await session.request(
            "GET", collection(gvk), params={"labelSelector": "app.kubernetes.io/managed-by=fleet"}
        )
        assert response.status == 200, response
        return {
            ObjectKey(gvk.group, gvk.kind, item["metadata"]["namespace"], item["metadata"]["name"]):
                item["metadata"]["resourceVersion"]
            for item in response.json()["items"]
        }  # fmt: skip


def cached_state(client: KubeClient, gvk: GroupVersionKind) -> dict[ObjectKey, str]:
    """A cache's objects of one kind: key -> resourceVersion."""
    return {
        ObjectKey.from_manifest(obj): obj["metadata"]["resourceVersion"]
        for obj in client.store.by_kind(gvk.group, gvk.kind)
    }


async def eventually(condition: Callable[[], bool], *, within: float = 30.0) -> None:
    """Wait until ``condition()`` holds. For outcomes of real I/O only (there is no event
    to await for them); time-based logic is tested on the fake clock."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def advancing(clock: FakeClock, condition: Callable[[], bool], *, step: float = 1.0) -> None:
    """Wait until ``condition()`` holds, moving ``clock`` by ``step`` while it does not:
    for outcomes that need both real I/O and backoff waits on the fake clock."""
    async with asyncio.timeout(30.0):
        while not condition():
            await clock.advance(step)
            await asyncio.sleep(0.01)


async def until_async(condition: Callable[[], Awaitable[bool]]) -> None:
    """`eventually` for a condition that must itself await (an HTTP request)."""
    async with asyncio.timeout(30.0):
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def entry(inventory: Path, name: str) -> inventories.ClusterEntry:
    """One cluster of an inventory file."""
    loaded = await asyncio.to_thread(inventories.load, inventory)
    return next(found for found in loaded.entries if found.name == name)


@contextlib.asynccontextmanager
async def session(
    inventory: Path, name: str, *, clock: Clock, **overrides: Any
) -> AsyncIterator[requesting.ApiSession]:
    """A bare `ApiSession` to one cluster (no client, no probe), on ``clock``."""
    found = await entry(inventory, name)
    endpoint = await connecting.connect(found.name, found.access, clock=clock)
    opened = requesting.ApiSession(
        found.name,
        endpoint=endpoint,
        settings=settings(inventory, **overrides),
        clock=clock,
        rng=random.Random(0),
        meter=ClusterMeter(ClientMetrics(CollectorRegistry()), found.name),
    )
    try:
        yield opened
    finally:
        await opened.close()


@contextlib.asynccontextmanager
async def connected(
    inventory: Path, name: str, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[KubeClient]:
    """A started `KubeClient` of one cluster, ready (its probe has answered)."""
    found = await entry(inventory, name)
    opened = await KubeClient.open(
        found.name,
        found.access,
        settings=settings(inventory, **overrides),
        metrics=ClientMetrics(CollectorRegistry()),
        clock=clock or SystemClock(),
        rng=random.Random(0),
    )
    try:
        await eventually(lambda: opened.connection.phase == "ready")
        yield opened
    finally:
        await opened.close()
