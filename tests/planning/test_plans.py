"""Plans: created, configured, unchanged or skipped, and what to prune (`fixtures/plans.yaml`)."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.planning import plans
from fleet.planning.plans import Action, Plan, Step
from fleet.planning.specs import Drift
from fleet.structs.objects import BundleName, Manifest, ObjectKey
from tests.planning import repos


@pytest.mark.parametrize("case", repos.cases("plans"))
def test_plan(case: dict[str, Any]) -> None:
    desired = repos.bundle(*case["objects"], drift=Drift(case["drift"]), digest=case["digest"])
    live = {ObjectKey.from_manifest(m): m for m in case["live"]}
    found = plans.plan(
        desired,
        live=live.get,
        previous=[ObjectKey(*parts) for parts in case["previous"]],
        field_manager="fleet",
        applied_digest=case["applied"],
    )
    assert [[str(s.key), s.action.value, list(s.fields)] for s in found.steps] == case["steps"]
    assert [str(key) for key in found.prune] == case["prune"]
    assert found.bundle == "shop"


CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}}


def test_a_plan_in_sync_makes_no_request() -> None:
    found = plans.plan(
        repos.bundle(CONFIG),
        live={ObjectKey.from_manifest(CONFIG): CONFIG}.get,
        previous=[],
        field_manager="fleet",
        applied_digest=None,
    )
    assert found.in_sync
    assert found.to_apply == ()
    assert repr(found) == "Plan(shop: 1 unchanged, 0 to prune)"


def test_what_a_plan_applies() -> None:
    found = plans.plan(
        repos.bundle(CONFIG),
        live=lambda key: None,
        previous=[],
        field_manager="fleet",
        applied_digest=None,
    )
    assert not found.in_sync
    assert [step.key.name for step in found.to_apply] == ["a"]
    assert found.steps[0].needs_apply
    assert repr(found) == "Plan(shop: 1 created, 0 to prune)"


def test_a_plan_that_only_prunes_is_not_in_sync() -> None:
    key = ObjectKey("", "ConfigMap", "shop", "old")
    found = Plan(bundle=BundleName("shop"), steps=(), prune=(key,))
    assert not found.in_sync
    assert repr(found) == "Plan(shop: no objects, 1 to prune)"


@pytest.mark.parametrize(
    ("action", "needs_apply"),
    [
        (Action.CREATED, True),
        (Action.CONFIGURED, True),
        (Action.UNCHANGED, False),
        (Action.SKIPPED, False),
        (Action.DELETED, False),
        (Action.FAILED, False),
    ],
)
def test_which_steps_need_an_apply(action: Action, needs_apply: bool) -> None:
    step = Step(repos.bundle(CONFIG).objects[0], action)
    assert step.needs_apply is needs_apply
    assert step.key == ObjectKey("", "ConfigMap", "shop", "a")


def test_a_step_shows_its_object_never_its_manifest() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": "aHVudGVyMg=="},
    }
    step = Step(repos.bundle(secret).objects[0], Action.CONFIGURED, ("data.password",))
    assert repr(step) == (
        "Step(object=DesiredObject(Secret shop/db, from shop/0.yaml:1),"
        " action=<Action.CONFIGURED: 'configured'>, fields=('data.password',))"
    )


OURS = {"app.kubernetes.io/managed-by": "fleet", "fleet.dev/bundle": "shop"}
APPLIED = [{"manager": "fleet", "operation": "Apply"}]


@pytest.mark.parametrize(
    ("labels", "entries", "owned"),
    [
        (OURS, APPLIED, True),
        ({**OURS, "fleet.dev/bundle": "other"}, APPLIED, False),
        ({**OURS, "app.kubernetes.io/managed-by": "helm"}, APPLIED, False),
        ({"fleet.dev/bundle": "shop"}, APPLIED, False),
        (None, APPLIED, False),
        (OURS, None, False),
        (OURS, [{"manager": "fleet", "operation": "Update"}], False),
        (OURS, [{"manager": "kubectl", "operation": "Apply"}], False),
    ],
)
def test_owned_by(
    labels: dict[str, str] | None, entries: list[dict[str, str]] | None, owned: bool
) -> None:
    metadata: dict[str, Any] = {}
    if labels is not None:
        metadata["labels"] = labels
    if entries is not None:
        metadata["managedFields"] = entries
    manifest: Manifest = {"metadata": metadata}
    assert plans.owned_by(manifest, "shop", field_manager="fleet") is owned
    assert plans.owned_by({"metadata": None}, "shop", field_manager="fleet") is False
