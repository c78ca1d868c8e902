"""Merge patches and JSON patches, against the examples of their RFCs."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.planning import patching
from fleet.planning.specs import PatchTarget
from fleet.structs.objects import ObjectKey
from tests.planning import repos


@pytest.mark.parametrize("case", repos.cases("patches"))
def test_patches_follow_their_rfc(case: dict[str, Any]) -> None:
    if "mergePatch" in case:
        assert patching.merge_patch(case["document"], case["mergePatch"]) == case["result"]
    elif "result" in case:
        assert patching.json_patch(case["document"], case["jsonPatch"]) == case["result"]
    else:
        with pytest.raises(patching.PatchFailed) as failed:
            patching.json_patch(case["document"], case["jsonPatch"])
        assert str(failed.value) == case["error"]


def test_patched_values_are_copies() -> None:
    body = {"spec": {"template": {"labels": {"a": "b"}}}}
    first, second = patching.merge_patch({}, body), patching.merge_patch({}, body)
    first["spec"]["template"]["labels"]["a"] = "changed"
    assert second == body


KEY = ObjectKey("apps", "Deployment", "web", "api")


@pytest.mark.parametrize(
    ("target", "aims"),
    [
        (PatchTarget("Deployment", "api"), True),
        (PatchTarget("Deployment", "api", group="apps", namespace="web"), True),
        (PatchTarget("Deployment", "api", group="extensions"), False),
        (PatchTarget("Deployment", "api", namespace="other"), False),
        (PatchTarget("StatefulSet", "api"), False),
        (PatchTarget("Deployment", "web"), False),
    ],
)
def test_a_patch_aims_by_kind_name_and_optional_group_and_namespace(
    target: PatchTarget, aims: bool
) -> None:
    assert patching.aims_at(target, KEY) is aims
