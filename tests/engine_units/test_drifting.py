"""Drift records from cache events (recorded objects), and the damper on the fake clock."""

from __future__ import annotations

import copy
import datetime
import logging
from typing import Any

import pytest

from fleet.engine import drifting
from fleet.planning.desired import DesiredBundle, DesiredObject
from fleet.planning.specs import Drift
from fleet.structs.history import DriftAction, DriftOperation
from fleet.structs.kube import EventType, ObjectEvent
from fleet.structs.objects import ClusterName, Manifest, ObjectKey, Revision
from tests.planning import recording, repos
from tests.support.clock import FakeClock

CLUSTER = ClusterName("sim-000")
REVISION = Revision("0123456789abcdef0123456789abcdef01234567")
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
KEY = ObjectKey("apps", "Deployment", "shop", "web")


def recorded(step: str) -> Manifest:
    # The Deployment as fleet.sim and kubectl left it after each step (tests/planning).
    return copy.deepcopy(recording.recorded("deployment")[step])


def bundle(drift: Drift = Drift.CORRECT) -> tuple[DesiredBundle, DesiredObject]:
    steps = recording.scenarios()["deployment"]["steps"]
    desired = repos.bundle(copy.deepcopy(recording.manifest_of(steps, "applied")), drift=drift)
    return desired, desired.objects[0]


def detect(event: ObjectEvent, drift: Drift = Drift.CORRECT) -> Any:
    desired_bundle, desired = bundle(drift)
    return drifting.detect(
        event,
        bundle=desired_bundle,
        desired=desired,
        revision=REVISION,
        field_manager="fleet",
        now=NOW,
    )


def modified(old: str, new: str) -> ObjectEvent:
    return ObjectEvent(CLUSTER, EventType.MODIFIED, KEY, recorded(old), recorded(new))


@pytest.mark.parametrize(
    ("old", "new", "fields", "manager", "operation"),
    [
        ("rolled-out", "scaled", ("spec.replicas",), "kubectl", DriftOperation.UPDATE),
        (
            "scaled",
            "edited",
            ("spec.template.spec.containers[name=web].image",),
            "kubectl-edit",
            DriftOperation.UPDATE,
        ),
        (
            "shared",
            "taken",
            ("spec.template.spec.containers[name=web].image",),
            "other",
            DriftOperation.APPLY,
        ),
        # A removal leaves no managedFields entry to name who made it.
        ("taken", "unlabelled", ("metadata.labels.tier",), None, DriftOperation.UPDATE),
    ],
)
def test_a_change_of_fleets_fields_is_drift_by_its_writer(
    old: str, new: str, fields: tuple[str, ...], manager: str | None, operation: DriftOperation
) -> None:
    record = detect(modified(old, new))
    assert record is not None
    assert (record.fields, record.field_manager, record.operation) == (fields, manager, operation)
    assert (record.cluster, record.bundle, record.key) == (CLUSTER, "shop", KEY)
    assert (record.revision, record.observed_at, record.action) == (
        REVISION,
        NOW,
        DriftAction.REVERTED,
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("applied", "rolled-out"),  # status
        ("edited", "shared"),  # another manager's own fields
        ("unlabelled", "reapplied"),  # fleet's own apply, towards the desired state
    ],
)
def test_a_change_that_leaves_fleets_fields_alone_is_no_drift(old: str, new: str) -> None:
    assert detect(modified(old, new)) is None


def test_an_observe_only_bundle_reports_drift_as_observed() -> None:
    record = detect(modified("rolled-out", "scaled"), Drift.OBSERVE)
    assert record is not None
    assert record.action is DriftAction.OBSERVED


@pytest.mark.parametrize("drift", [Drift.CORRECT, Drift.OBSERVE])
def test_a_deleted_object_is_drift_with_no_fields_or_writer(drift: Drift) -> None:
    event = ObjectEvent(CLUSTER, EventType.DELETED, KEY, recorded("applied"), None)
    record = detect(event, drift)
    assert record is not None
    assert record.operation is DriftOperation.DELETE
    assert (record.fields, record.field_manager) == ((), None)
    action = DriftAction.REVERTED if drift is Drift.CORRECT else DriftAction.OBSERVED
    assert record.action is action


@pytest.mark.parametrize(
    "event",
    [
        ObjectEvent(CLUSTER, EventType.ADDED, KEY, None, {"metadata": {}}),
        ObjectEvent(CLUSTER, EventType.MODIFIED, KEY, None, {"metadata": {}}),
        ObjectEvent(CLUSTER, EventType.MODIFIED, KEY, {"metadata": {}}, None),
    ],
    ids=["added", "modified without old", "modified without new"],
)
def test_an_object_appearing_is_no_drift(event: ObjectEvent) -> None:
    assert detect(event) is None


def test_an_operation_fleet_does_not_know_counts_as_an_update() -> None:
    new = recorded("scaled")
    for entry in new["metadata"]["managedFields"]:
        if entry["manager"] == "kubectl":
            entry["operation"] = "Patch"
    record = detect(ObjectEvent(CLUSTER, EventType.MODIFIED, KEY, recorded("rolled-out"), new))
    assert record is not None
    assert (record.field_manager, record.operation) == ("kubectl", DriftOperation.UPDATE)


# -- damper -----------------------------------------------------------------------------------


async def test_the_first_drift_is_reverted_at_once_repeats_wait_longer(clock: FakeClock) -> None:
    damper = drifting.Damper(clock=clock, base=1.0, cap=8.0, window=60.0)
    delays = []
    for _ in range(7):
        delays.append(damper.delay(CLUSTER, KEY))
        await clock.advance(delays[-1] + 5)  # drifts again 5 s after each revert
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert repr(damper) == "Damper(1 objects seen drifting, 1 spaced out)"


async def test_a_quiet_window_after_the_last_revert_starts_over(clock: FakeClock) -> None:
    damper = drifting.Damper(clock=clock, base=1.0, cap=8.0, window=60.0)
    assert [damper.delay(CLUSTER, KEY), damper.delay(CLUSTER, KEY)] == [0.0, 1.0]
    await clock.advance(1 + 60)  # the revert was at 1 s: exactly the window is not quiet enough
    assert damper.delay(CLUSTER, KEY) == 2.0
    await clock.advance(2 + 60.5)
    assert damper.delay(CLUSTER, KEY) == 0.0
    assert damper.delay(CLUSTER, KEY) == 1.0


async def test_a_long_wait_does_not_reset_the_streak(clock: FakeClock) -> None:
    # Measured from the revert (now + delay), not from the drift that scheduled it.
    damper = drifting.Damper(clock=clock, base=50.0, cap=100.0, window=60.0)
    assert [damper.delay(CLUSTER, KEY), damper.delay(CLUSTER, KEY)] == [0.0, 50.0]
    await clock.advance(100)  # 50 s after the revert
    assert damper.delay(CLUSTER, KEY) == 100.0


def test_each_object_of_each_cluster_has_its_own_streak(clock: FakeClock) -> None:
    damper = drifting.Damper(clock=clock)
    other_key = ObjectKey("", "ConfigMap", "shop", "settings")
    other_cluster = ClusterName("sim-001")
    assert [damper.delay(CLUSTER, KEY), damper.delay(CLUSTER, KEY)] == [0.0, 1.0]
    assert damper.delay(CLUSTER, other_key) == 0.0
    assert damper.delay(other_cluster, KEY) == 0.0
    assert len(damper) == 3


def test_a_streak_is_logged_once(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    damper = drifting.Damper(clock=clock)
    with caplog.at_level(logging.WARNING, logger=drifting.__name__):
        for _ in range(4):
            damper.delay(CLUSTER, KEY)
    assert [r.getMessage() for r in caplog.records] == [
        "cluster sim-000: Deployment.apps shop/web drifted again within 60 s of its revert;"
        " spacing out reverts"
    ]


async def test_old_streaks_are_forgotten_once_there_are_many(clock: FakeClock) -> None:
    damper = drifting.Damper(clock=clock, window=60.0)
    for number in range(10_001):
        damper.delay(CLUSTER, ObjectKey("", "ConfigMap", "shop", f"c{number}"))
    assert len(damper) == 10_001
    await clock.advance(61)
    damper.delay(CLUSTER, KEY)
    assert len(damper) == 1
