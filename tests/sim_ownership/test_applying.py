"""Server-side apply: merging, removal of what a manager stops applying, conflicts."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest

from fleet.sim import ownership
from tests.sim_ownership.conftest import Case


def _apply(case: Case) -> dict[str, Any]:
    assert case.config is not None
    return ownership.apply(
        live=case.live, config=case.config, manager=case.manager, force=case.force, now=case.now
    )


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {name: value for name, value in obj["metadata"].items() if name != "managedFields"}
    return {**obj, "metadata": metadata}


def _row(conflict: ownership.Conflict) -> dict[str, str]:
    """A conflict as the tables write it: version and operation only for updates."""
    row = {"manager": conflict.manager, "field": conflict.field}
    if conflict.operation is ownership.Operation.UPDATE:
        row |= {"operation": str(conflict.operation), "api_version": conflict.api_version}
    if conflict.subresource:
        row["subresource"] = conflict.subresource
    return row


def test_apply(apply_case: Case) -> None:
    expect = apply_case.expect
    if "message" in expect:
        with pytest.raises(ownership.ConflictError) as refused:
            _apply(apply_case)
        assert str(refused.value) == expect["message"]
        assert [_row(conflict) for conflict in refused.value.conflicts] == expect["conflicts"]
    elif "invalid" in expect:
        with pytest.raises(ownership.InvalidObjectError) as invalid:
            _apply(apply_case)
        assert str(invalid.value) == expect["invalid"]
    elif expect.get("unchanged"):
        assert _apply(apply_case) is apply_case.live
    else:
        applied = _apply(apply_case)
        assert _without_managed_fields(applied) == expect["object"]
        if "managedFields" in expect:
            assert applied["metadata"].get("managedFields") == expect["managedFields"]


def test_apply_changes_neither_the_live_object_nor_the_configuration(apply_case: Case) -> None:
    before = copy.deepcopy((apply_case.live, apply_case.config))
    with contextlib.suppress(ownership.ConflictError, ownership.InvalidObjectError):
        _apply(apply_case)
    assert (apply_case.live, apply_case.config) == before


def _deployment(replicas: int, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def _managers(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (entry["manager"], entry["operation"], entry["time"])
        for entry in obj["metadata"]["managedFields"]
    ]


def test_a_scale_by_hand_is_refused_to_the_next_apply_until_it_forces() -> None:
    """The story fleet lives by: apply, someone scales by hand, fleet applies again."""
    created = ownership.apply(
        live=None, config=_deployment(3, "web:1"), manager="fleet", force=False, now="T1"
    )
    edited = copy.deepcopy(created)
    edited["spec"]["replicas"] = 5
    scaled = ownership.update(old=created, new=edited, manager="kubectl-edit", now="T2")
    assert _managers(scaled) == [("fleet", "Apply", "T1"), ("kubectl-edit", "Update", "T2")]

    # A new image alone goes through: fleet does not touch the replicas it no longer owns.
    rolled = ownership.apply(
        live=scaled, config=_deployment(5, "web:2"), manager="fleet", force=False, now="T3"
    )
    assert rolled["spec"]["replicas"] == 5
    with pytest.raises(ownership.ConflictError) as refused:
        ownership.apply(
            live=rolled, config=_deployment(3, "web:2"), manager="fleet", force=False, now="T4"
        )
    assert refused.value.causes() == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl-edit" using apps/v1',
            "field": ".spec.replicas",
        }
    ]

    forced = ownership.apply(
        live=rolled, config=_deployment(3, "web:2"), manager="fleet", force=True, now="T4"
    )
    assert forced["spec"]["replicas"] == 3
    assert _managers(forced) == [("fleet", "Apply", "T4")]


def test_a_second_applier_of_the_same_values_shares_them_and_changes_no_value() -> None:
    config = _deployment(3, "web:1")
    created = ownership.apply(live=None, config=config, manager="fleet", force=False, now="T1")
    shared = ownership.apply(live=created, config=config, manager="helm", force=False, now="T2")
    assert _without_managed_fields(shared) == _without_managed_fields(created)
    fields = [entry["fieldsV1"] for entry in shared["metadata"]["managedFields"]]
    assert [entry["manager"] for entry in shared["metadata"]["managedFields"]] == ["fleet", "helm"]
    assert fields[0] == fields[1]


def test_an_apply_without_api_version_is_invalid() -> None:
    with pytest.raises(ownership.InvalidObjectError, match="apiVersion must be set"):
        ownership.apply(
            live=None, config={"kind": "ConfigMap"}, manager="fleet", force=False, now="T1"
        )


def test_an_object_nested_hundreds_deep_is_invalid_not_a_crash() -> None:
    nested: dict[str, Any] = {}
    for _ in range(2000):
        nested = {"x": nested}
    config = {"apiVersion": "example.com/v1", "kind": "Deep", "spec": nested}
    with pytest.raises(ownership.InvalidObjectError, match="nested too deeply"):
        ownership.apply(live=None, config=config, manager="fleet", force=False, now="T1")
    with pytest.raises(ownership.InvalidObjectError, match="nested too deeply"):
        ownership.update(old=None, new=config, manager="fleet", now="T1")


def test_a_conflict_names_its_owner_as_the_api_server_does() -> None:
    assert ownership.Conflict(manager="helm", field=".data.a").owner == '"helm"'
    update = ownership.Conflict(
        manager="kubectl",
        field=".spec.replicas",
        operation=ownership.Operation.UPDATE,
        api_version="apps/v1",
        subresource="scale",
    )
    assert update.owner == '"kubectl" with subresource "scale" using apps/v1'


def test_a_conflict_error_groups_its_conflicts_by_manager_in_any_order() -> None:
    error = ownership.ConflictError(
        [
            ownership.Conflict(manager="b", field=".x"),
            ownership.Conflict(manager="a", field=".y"),
            ownership.Conflict(manager="b", field=".z"),
        ]
    )
    assert str(error) == (
        'Apply failed with 3 conflicts: conflicts with "a":\n- .y\nconflicts with "b":\n- .x\n- .z'
    )
