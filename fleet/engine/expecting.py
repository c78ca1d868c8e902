"""Expectations: what a cluster's objects are, counting fleet's own writes the cache has
not shown yet.

The informer cache lags a write by the time a watch event takes to arrive. A sync that
ran again within that window (a rollout being checked on, a change that came in during
the last sync) would see the old object, find it different and apply it once more -- an
extra write per object per rollout for a thousand clusters. client-go's controllers
solve this with *expectations*: after a write, remember what the server answered, and
trust that answer over the cache until the cache catches up.

`LiveView` does that for one cluster: `get` answers from the object an apply returned
(or from a delete) until the cache delivers an event with that resourceVersion (or the
deletion); any other event on the key also ends the expectation, because the cache then
holds something newer than fleet's write. An expectation also lapses after ``ttl``
seconds, so a missed event (a relist that skipped the version) cannot hide the cache
for long.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.structs.clock import Clock
from fleet.structs.kube import EventType, ObjectCache, ObjectEvent
from fleet.structs.objects import Manifest, ObjectKey

DEFAULT_TTL = 30.0
"""Seconds an expectation is trusted without the cache confirming it."""


@dataclass(frozen=True, slots=True)
class _Expected:
    obj: Manifest | None  # None: fleet deleted it
    at: float


class LiveView:
    """The live objects of one cluster: the cache, corrected by fleet's recent writes."""

    def __init__(self, cache: ObjectCache, *, clock: Clock, ttl: float = DEFAULT_TTL) -> None:
        self.cache = cache
        self._clock = clock
        self._ttl = ttl
        self._expected: dict[ObjectKey, _Expected] = {}

    def get(self, key: ObjectKey) -> Manifest | None:
        expected = self._expected.get(key)
        if expected is not None:
            if self._clock.now() - expected.at < self._ttl:
                return expected.obj
            del self._expected[key]
        return self.cache.get(key)

    def applied(self, key: ObjectKey, obj: Manifest) -> None:
        """fleet applied ``key`` and the server answered ``obj``."""
        self._expected[key] = _Expected(obj, self._clock.now())

    def deleted(self, key: ObjectKey) -> None:
        """fleet deleted ``key`` (or found it gone)."""
        self._expected[key] = _Expected(None, self._clock.now())

    def observe(self, event: ObjectEvent) -> None:
        """The cache changed ``event.key``: it now knows at least as much as fleet."""
        if event.key in self._expected:
            del self._expected[event.key]

    def expects(self, event: ObjectEvent) -> bool:
        """Whether ``event`` is the cache catching up with fleet's own write."""
        expected = self._expected.get(event.key)
        if expected is None:
            return False
        if expected.obj is None:
            return event.type is EventType.DELETED
        return event.new is not None and _version(event.new) == _version(expected.obj)

    def __len__(self) -> int:
        return len(self._expected)

    def __repr__(self) -> str:
        return f"LiveView({len(self._expected)} expectations)"


def _version(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
