"""Expectations: fleet's own writes hide the stale cache until the cache catches up."""

from __future__ import annotations

from fleet.engine.expecting import DEFAULT_TTL, LiveView
from fleet.structs.kube import EventType, ObjectEvent
from fleet.structs.objects import ClusterName, Manifest, ObjectKey
from tests.engine_units.conftest import FakeCache
from tests.support.clock import FakeClock

KEY = ObjectKey("", "ConfigMap", "shop", "settings")


def config(version: str, value: str = "v") -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"k": value},
        "metadata": {"name": "settings", "namespace": "shop", "resourceVersion": version},
    }


def event(kind: EventType, old: Manifest | None, new: Manifest | None) -> ObjectEvent:
    return ObjectEvent(ClusterName("sim-000"), kind, KEY, old, new)


def test_the_cache_answers_when_fleet_expects_nothing(cache: FakeCache, clock: FakeClock) -> None:
    live = LiveView(cache, clock=clock)
    assert live.get(KEY) is None
    cache.put(config("1"))
    assert live.get(KEY) == config("1")
    assert not live.expects(event(EventType.MODIFIED, config("1"), config("2")))
    assert repr(live) == "LiveView(0 expectations)"


def test_an_apply_hides_the_stale_cache_until_its_own_event(
    cache: FakeCache, clock: FakeClock
) -> None:
    cache.put(config("1"))
    live = LiveView(cache, clock=clock)
    live.applied(KEY, config("5", "new"))
    assert live.get(KEY) == config("5", "new")
    assert (len(live), repr(live)) == (1, "LiveView(1 expectations)")
    own = event(EventType.MODIFIED, config("1"), config("5", "new"))
    assert live.expects(own)
    cache.put(config("5", "new"))
    live.observe(own)
    assert len(live) == 0
    assert live.get(KEY) == config("5", "new")


def test_any_other_event_ends_the_expectation(cache: FakeCache, clock: FakeClock) -> None:
    cache.put(config("1"))
    live = LiveView(cache, clock=clock)
    live.applied(KEY, config("5", "new"))
    other = event(EventType.MODIFIED, config("5", "new"), config("6", "edited"))
    assert not live.expects(other)  # someone else wrote after fleet: not fleet's event
    cache.put(config("6", "edited"))
    live.observe(other)
    assert live.get(KEY) == config("6", "edited")
    # Events of other objects change nothing.
    live.applied(KEY, config("7"))
    live.observe(
        ObjectEvent(
            ClusterName("sim-000"),
            EventType.MODIFIED,
            ObjectKey("", "ConfigMap", "shop", "other"),
            None,
            config("9"),
        )
    )
    assert live.get(KEY) == config("7")


def test_a_delete_hides_the_object_until_its_deletion_arrives(
    cache: FakeCache, clock: FakeClock
) -> None:
    cache.put(config("1"))
    live = LiveView(cache, clock=clock)
    live.deleted(KEY)
    assert live.get(KEY) is None
    # A MODIFIED event first (finalizers, a deletionTimestamp) is not the deletion.
    assert not live.expects(event(EventType.MODIFIED, config("1"), config("2")))
    gone = event(EventType.DELETED, config("1"), None)
    assert live.expects(gone)
    cache.remove(KEY)
    live.observe(gone)
    assert live.get(KEY) is None
    assert len(live) == 0


def test_an_apply_expects_no_deletion(cache: FakeCache, clock: FakeClock) -> None:
    live = LiveView(cache, clock=clock)
    live.applied(KEY, config("5"))
    assert not live.expects(event(EventType.DELETED, config("5"), None))


def test_an_answer_without_a_version_matches_no_event(cache: FakeCache, clock: FakeClock) -> None:
    live = LiveView(cache, clock=clock)
    answer = config("1")
    del answer["metadata"]["resourceVersion"]
    live.applied(KEY, answer)
    assert not live.expects(event(EventType.MODIFIED, None, config("1")))


async def test_an_expectation_lapses_after_the_ttl(cache: FakeCache, clock: FakeClock) -> None:
    cache.put(config("1"))
    live = LiveView(cache, clock=clock, ttl=10)
    live.applied(KEY, config("5"))
    await clock.advance(9.5)
    assert live.get(KEY) == config("5")
    await clock.advance(0.5)  # a missed event must not hide the cache for longer
    assert live.get(KEY) == config("1")
    assert len(live) == 0
    assert DEFAULT_TTL == 30.0


async def test_a_new_write_renews_the_expectation(cache: FakeCache, clock: FakeClock) -> None:
    cache.put(config("1"))
    live = LiveView(cache, clock=clock, ttl=10)
    live.applied(KEY, config("5"))
    await clock.advance(8)
    live.applied(KEY, config("6"))
    await clock.advance(8)
    assert live.get(KEY) == config("6")
