"""The cache and event delivery, without a server: indexes, the relist difference, and
handlers that cannot hold up another cluster."""

from __future__ import annotations

import asyncio

from fleet.clients.caching import Delivery, ObjectStore
from fleet.structs.kube import EventType, ObjectEvent
from fleet.structs.objects import ClusterName, Manifest, ObjectKey


def configmap(name: str, version: str, bundle: str | None = "b1") -> tuple[ObjectKey, Manifest]:
    labels = {"fleet.dev/bundle": bundle} if bundle else {}
    metadata = {"name": name, "namespace": "ns", "resourceVersion": version, "labels": labels}
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    return ObjectKey("", "ConfigMap", "ns", name), obj


def test_indexes_follow_puts_and_removes() -> None:
    sizes: list[int] = []
    store = ObjectStore(ClusterName("c"), on_change=sizes.append)
    store.put(*configmap("a", "1"))
    store.put(*configmap("b", "2"))
    moved_key, moved = configmap("a", "3", bundle="b2")
    event = store.put(moved_key, moved)
    assert (event.type, event.old and event.old["metadata"]["resourceVersion"]) == (
        EventType.MODIFIED,
        "1",
    )
    assert [o["metadata"]["name"] for o in store.by_bundle("b1")] == ["b"]
    assert store.by_bundle("b2") == [moved]
    assert store.remove(moved_key) is not None
    assert store.remove(moved_key) is None
    assert store.by_bundle("b2") == []
    assert [o["metadata"]["name"] for o in store.by_kind("", "ConfigMap")] == ["b"]
    assert sizes == [1, 2, 1]
    assert repr(store) == "ObjectStore(c: 1 objects, synced)"


def test_a_relist_replaces_a_kind_with_events_for_real_changes_only() -> None:
    store = ObjectStore(ClusterName("c"), on_change=lambda _: None)
    for name, version in (("same", "1"), ("changed", "2"), ("gone", "3")):
        store.put(*configmap(name, version))
    kept = store.get(ObjectKey("", "ConfigMap", "ns", "same"))
    listed = dict([configmap("same", "1"), configmap("changed", "5"), configmap("new", "6")])
    events = store.replace(("", "ConfigMap"), listed)
    assert [(e.type, e.key.name) for e in events] == [
        (EventType.DELETED, "gone"),
        (EventType.MODIFIED, "changed"),
        (EventType.ADDED, "new"),
    ]
    assert store.get(ObjectKey("", "ConfigMap", "ns", "same")) is kept


async def test_sync_state_follows_the_informers() -> None:
    store = ObjectStore(ClusterName("c"), on_change=lambda _: None)
    assert store.has_synced()
    await store.wait_synced()
    store.expect(("", "ConfigMap"))
    store.expect(("apps", "Deployment"))
    waiter = asyncio.create_task(store.wait_synced())
    store.listed(("", "ConfigMap"))
    await asyncio.sleep(0)
    assert not waiter.done()
    assert not store.has_synced()
    assert repr(store) == "ObjectStore(c: 0 objects, 1 kinds listing)"
    store.put(*configmap("a", "1"))
    store.forget(("", "ConfigMap"))  # stopped looking: dropped without an event
    assert len(store) == 0
    store.listed(("apps", "Deployment"))
    await asyncio.wait_for(waiter, 1)


async def test_a_flood_on_one_cluster_does_not_hold_up_another() -> None:
    order: list[str] = []
    busy, quiet = Delivery(ClusterName("busy")), Delivery(ClusterName("quiet"))
    busy.subscribe(lambda event: order.append("busy"))
    quiet.subscribe(lambda event: order.append("quiet"))
    key, obj = configmap("a", "1")
    busy.send(
        ObjectEvent(ClusterName("busy"), EventType.ADDED, key, None, obj) for _ in range(1000)
    )
    quiet.send([ObjectEvent(ClusterName("quiet"), EventType.ADDED, key, None, obj)])
    assert repr(busy) == "Delivery(busy: 1 handlers, 1000 queued)"
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(busy.run()), group.create_task(quiet.run())]
        while busy.pending or quiet.pending:  # noqa: ASYNC110 -- each turn is one loop step
            await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
    assert order.index("quiet") < 300
    assert len(order) == 1001
