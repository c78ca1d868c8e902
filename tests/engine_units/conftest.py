"""Unit tests of the engine's pure parts: values, rules and small state machines, fed by
YAML tables, a fake clock and a fake cache; no cluster, no loop beyond the test's own.

(The engine's tests against the simulator are in tests/engine.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from fleet.planning.rendering import BUNDLE_LABEL
from fleet.structs.objects import Manifest, ObjectKey
from tests.support.clock import FakeClock


class FakeCache:
    """An `ObjectCache` over a dict: what the informers would hold, set by the test."""

    def __init__(self, objects: Iterable[Manifest] = ()) -> None:
        self.objects = {ObjectKey.from_manifest(obj): obj for obj in objects}

    def put(self, obj: Manifest) -> None:
        self.objects[ObjectKey.from_manifest(obj)] = obj

    def remove(self, key: ObjectKey) -> None:
        del self.objects[key]

    def get(self, key: ObjectKey) -> Manifest | None:
        return self.objects.get(key)

    def by_bundle(self, bundle: str) -> Sequence[Manifest]:
        return [
            obj
            for _, obj in sorted(self.objects.items())
            if (obj["metadata"].get("labels") or {}).get(BUNDLE_LABEL) == bundle
        ]

    def by_kind(self, group: str, kind: str) -> Sequence[Manifest]:
        return [
            obj
            for key, obj in sorted(self.objects.items())
            if (key.group, key.kind) == (group, kind)
        ]

    def has_synced(self) -> bool:
        return True

    async def wait_synced(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"FakeCache({len(self.objects)} objects)"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()
