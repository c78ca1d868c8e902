"""Discovery: fetched per group-version when first needed, refreshed once when a kind is
missing, so a CRD applied in a sync is usable in the same sync, and informers for a
kind not served yet wait without polling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fleet.clients import informing
from fleet.clients.metering import Verb
from fleet.sim import serving
from fleet.structs import errors
from fleet.structs.kube import EventType, ObjectEvent, Resource
from fleet.structs.objects import GroupVersionKind, ObjectKey
from tests.clients import support
from tests.clients.support import CONFIGMAP
from tests.support.clock import FakeClock

WIDGET = GroupVersionKind("example.com", "v1", "Widget")
CRD = GroupVersionKind("apiextensions.k8s.io", "v1", "CustomResourceDefinition")
NAMESPACE = GroupVersionKind("", "v1", "Namespace")


def widget_crd() -> dict[str, Any]:
    return {
        "apiVersion": CRD.api_version,
        "kind": CRD.kind,
        "metadata": {"name": "widgets.example.com", "labels": dict(support.MANAGED)},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }


def widget(name: str) -> dict[str, Any]:
    labels = {**support.MANAGED, "fleet.dev/bundle": "gadgets"}
    return {"apiVersion": WIDGET.api_version, "kind": WIDGET.kind,
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"size": 3}}  # fmt: skip


async def test_resources_are_fetched_once_per_group_version(
    sim: serving.Simulator, inventory: Path
) -> None:
    async with support.connected(inventory, "sim-000") as client:
        before = client.meter.requests[Verb.DISCOVERY]
        found = await asyncio.gather(*(client.resource(CONFIGMAP) for _ in range(5)))
        assert found[0] == Resource(CONFIGMAP, plural="configmaps", namespaced=True)
        assert await client.resource(NAMESPACE) == Resource(
            NAMESPACE, "namespaces", namespaced=False
        )
        assert client.meter.requests[Verb.DISCOVERY] == before + 1
        assert repr(client.discovery) == "Discovery(sim-000: core/v1)"


async def test_a_crd_applied_in_a_sync_is_usable_in_the_same_sync(
    sim: serving.Simulator, inventory: Path
) -> None:
    async with support.connected(inventory, "sim-000") as client:
        with pytest.raises(errors.ApiError) as missing:
            await client.resource(WIDGET)
        assert (missing.value.code, missing.value.retryable) == (404, False)
        assert "does not serve example.com/v1 Widget" in missing.value.message
        await client.apply(widget_crd(), field_manager="fleet", force=True)
        stored = await client.apply(widget("gizmo"), field_manager="fleet", force=True)
        assert stored["spec"] == {"size": 3}
        # Cluster-scoped: applied at /apis/.../customresourcedefinitions/<name>, no namespace.
        assert (await client.resource(CRD)).namespaced is False


async def test_an_informer_waits_without_polling_until_its_kind_is_served(
    sim: serving.Simulator, inventory: Path
) -> None:
    clock = FakeClock()
    events: list[ObjectEvent] = []
    async with support.connected(inventory, "sim-000", clock=clock) as client:
        client.subscribe(events.append)
        await client.watch_kinds([WIDGET, CRD])
        await client.cache.wait_synced()  # nothing of an unserved kind exists: synced, empty
        informer, crds = sorted(client.informers, key=lambda i: i.gvk != WIDGET)
        await support.eventually(lambda: informer.phase is informing.Phase.UNSERVED)
        await support.eventually(lambda: crds.phase is informing.Phase.WATCHING)
        asked = client.meter.requests[Verb.DISCOVERY]
        await clock.advance(3600)
        assert client.meter.requests[Verb.DISCOVERY] == asked

        await client.apply(widget_crd(), field_manager="fleet", force=True)
        await client.apply(widget("gizmo"), field_manager="fleet", force=True)
        await support.eventually(lambda: len(client.cache.by_bundle("gadgets")) == 1)
        assert client.meter.requests[Verb.LIST] == 2  # the CRDs, then the widgets once served

        # The CRD goes, and its objects with it: the cache says so with events.
        crd = client.cache.get(
            ObjectKey("apiextensions.k8s.io", CRD.kind, "", "widgets.example.com")
        )
        assert crd is not None
        await client.delete(CRD, ObjectKey.from_manifest(crd), uid=crd["metadata"]["uid"])
        await support.eventually(lambda: not client.cache.by_bundle("gadgets"))
        # A real API server ends the watches of a deleted resource; the simulator is told to.
        sim.cluster("sim-000").drop_watches()
        await support.advancing(clock, lambda: informer.phase is informing.Phase.UNSERVED)
        kinds = [(e.type, e.key.kind) for e in events]
        assert (EventType.ADDED, "Widget") in kinds
        assert (EventType.DELETED, "Widget") in kinds
        assert client.cache.has_synced()
