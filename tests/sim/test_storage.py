"""The store: one resourceVersion counter per cluster, an event window, snapshots."""

from typing import Any

import pytest

from fleet.sim import resources, storage

KEY = resources.CONFIGMAPS.storage_key


def configmap(name: str, value: str = "1", namespace: str = "default") -> dict[str, Any]:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "data": {"value": value},
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[storage.Event] = []
        self.closed = False

    def offer(self, event: storage.Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True


def test_each_write_takes_the_next_resource_version() -> None:
    store = storage.Store(window=10)
    first = store.write(KEY, configmap("a"))
    second = store.write(KEY, configmap("b"))
    third = store.write(KEY, configmap("a", "2"))
    assert [first.resource_version, second.resource_version, third.resource_version] == [1, 2, 3]
    assert store.get(KEY, "default", "a") == third
    assert third.load(resources.CONFIGMAPS)["metadata"]["resourceVersion"] == "3"


def test_documents_put_kind_and_api_version_first_and_bodies_leave_them_out() -> None:
    store = storage.Store(window=10)
    stored = store.write(KEY, configmap("a"))
    assert stored.body.startswith(b'{"metadata":')
    assert stored.document(resources.CONFIGMAPS).startswith(
        b'{"kind":"ConfigMap","apiVersion":"v1","metadata":'
    )
    assert stored.labels == {"app": "a"}


def test_objects_are_listed_in_namespace_then_name_order() -> None:
    store = storage.Store(window=10)
    for namespace, name in [("b", "x"), ("a", "z"), ("a", "y")]:
        store.write(KEY, configmap(name, namespace=namespace))
    assert [o.key for o in store.objects(KEY)] == [("a", "y"), ("a", "z"), ("b", "x")]
    assert [o.key for o in store.objects(KEY, "b")] == [("b", "x")]


def test_events_since_replays_one_collection_and_refuses_what_is_gone() -> None:
    store = storage.Store(window=3)
    for index in range(5):
        store.write(KEY, configmap(f"cm{index}"))
    assert [e.resource_version for e in store.events_since(KEY, 3)] == [4, 5]
    assert store.events_since(resources.NAMESPACES.storage_key, 2) == []
    with pytest.raises(storage.TooOld) as raised:
        store.events_since(KEY, 1)
    assert str(raised.value) == "too old resource version: 1 (2)"
    assert store.oldest_resumable == 2


def test_removal_is_an_event_with_the_final_state_at_a_new_version() -> None:
    store = storage.Store(window=10)
    store.write(KEY, configmap("a"))
    removed = store.remove(KEY, configmap("a"))
    (event,) = store.events_since(KEY, 1)
    assert event.type is storage.EventType.DELETED
    assert event.obj == removed
    assert removed.resource_version == 2
    assert store.get(KEY, "default", "a") is None


def test_snapshot_rebuilds_a_collection_as_it_was() -> None:
    store = storage.Store(window=10)
    store.write(KEY, configmap("a"))
    store.write(KEY, configmap("b"))
    version = store.resource_version
    store.write(KEY, configmap("a", "changed"))
    store.write(KEY, configmap("c"))
    store.remove(KEY, configmap("b"))
    then = store.snapshot(KEY, None, version)
    assert [(o.name, o.load(resources.CONFIGMAPS)["data"]["value"]) for o in then] == [
        ("a", "1"),
        ("b", "1"),
    ]
    assert [o.name for o in store.snapshot(KEY, None, store.resource_version)] == ["a", "c"]


def test_compaction_forgets_history() -> None:
    store = storage.Store(window=10)
    for index in range(4):
        store.write(KEY, configmap(f"cm{index}"))
    store.compact(window=1)
    assert store.window == 1
    assert store.oldest_resumable == 3
    store.compact()
    assert store.oldest_resumable == 4
    with pytest.raises(storage.TooOld):
        store.events_since(KEY, 3)
    assert store.events_since(KEY, 4) == []


def test_watchers_of_a_collection_hear_each_change_until_they_leave() -> None:
    store = storage.Store(window=10)
    watcher = Recorder()
    store.subscribe(KEY, watcher)
    store.write(KEY, configmap("a"))
    store.write(resources.NAMESPACES.storage_key, {"metadata": {"name": "ns"}})
    store.unsubscribe(KEY, watcher)
    store.write(KEY, configmap("b"))
    assert [e.obj.name for e in watcher.events] == ["a"]
    assert store.watchers() == []


def test_reprs_say_what_is_stored() -> None:
    store = storage.Store(window=10)
    stored = store.write(KEY, configmap("a"))
    assert repr(stored) == f"StoredObject(default/a rv=1, {len(stored.body)} bytes)"
    assert repr(store) == "Store(rv=1, 1 objects, 1/10 events, 0 watchers)"
