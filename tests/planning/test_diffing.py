"""Diffing against live objects recorded from fleet.sim and kubectl (see recording.py).

The tables are ``fixtures/diffing/differences.yaml`` (does a live object need an
apply?) and ``fixtures/diffing/drift.yaml`` (did a change drift, and who made it?).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fleet.planning import diffing, patching
from fleet.planning.diffing import Match
from fleet.structs.objects import Manifest
from tests.planning import recording, repos


def desired_of(given: Any) -> Manifest:
    """A case's desired manifest: applied at a recorded step, patched, or written out."""
    if isinstance(given, str):
        scenario, step = given.split("/")
        steps = recording.scenarios()[scenario]["steps"]
        return copy.deepcopy(recording.manifest_of(steps, step))
    if "object" in given:
        return copy.deepcopy(given["object"])
    result: Manifest = patching.json_patch(desired_of(given["from"]), given["patch"])
    return result


def live_of(given: Any) -> Manifest:
    """A case's live object: recorded after a step, patched, or written out."""
    if isinstance(given, str):
        scenario, step = given.split("/")
        return copy.deepcopy(recording.recorded(scenario)[step])
    if "object" in given:
        return copy.deepcopy(given["object"])
    result: Manifest = patching.json_patch(live_of(given["from"]), given["patch"])
    return result


def test_every_scenario_is_recorded_step_by_step() -> None:
    for name, scenario in recording.scenarios().items():
        steps = [step["name"] for step in scenario["steps"]]
        assert list(recording.recorded(name)) == steps, (
            f"record {name} again: python -m {recording.__name__}"
        )


@pytest.mark.parametrize("case", repos.cases("diffing/differences"))
def test_differences(case: dict[str, Any]) -> None:
    desired, live = desired_of(case["desired"]), live_of(case["live"])
    found = diffing.differences(desired, live, field_manager="fleet")
    assert found == tuple(case["differences"])


@pytest.mark.parametrize("case", repos.cases("diffing/drift"))
def test_drift(case: dict[str, Any]) -> None:
    desired, old, new = desired_of(case["desired"]), live_of(case["old"]), live_of(case["new"])
    assert diffing.drifted(desired, old, new, field_manager="fleet") == tuple(case["drifted"])
    if "writer" in case:
        found = diffing.writer(old, new, field_manager="fleet")
        expected = diffing.Writer(**case["writer"]) if case["writer"] is not None else None
        assert found == expected


def test_only_the_given_managers_apply_entry_says_what_it_owns() -> None:
    # The same live object, asked for by a manager that owns nothing: only values count.
    desired = desired_of(
        {"from": "deployment/applied", "patch": [{"op": "remove", "path": "/metadata/labels/tier"}]}
    )
    live = live_of("deployment/applied")
    assert diffing.differences(desired, live, field_manager="fleet") == ("metadata.labels.tier",)
    assert diffing.differences(desired, live, field_manager="someone") == ()


def test_owned_paths_read_fleets_apply_entry() -> None:
    paths = list(diffing.owned_paths(live_of("ports/applied"), "fleet"))
    container = ("spec", "template", "spec", "containers", Match((("name", "dns"),)))
    udp = Match((("containerPort", 53), ("protocol", "UDP")))
    assert (*container, "ports", udp, "protocol") in paths
    assert (*container, "image") in paths
    assert list(diffing.owned_paths(live_of("ports/applied"), "kubectl")) == []


def test_paths_never_carry_a_secrets_values() -> None:
    desired: Manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": "c2VjcmV0"},
    }
    old = copy.deepcopy(desired)
    new = copy.deepcopy(desired)
    new["data"]["password"] = "aHVudGVyMg=="
    found = diffing.drifted(desired, old, new, field_manager="fleet")
    assert found == ("data.password",)
    assert not any(value in path for path in found for value in ("c2VjcmV0", "aHVudGVyMg=="))


@pytest.mark.parametrize(
    ("path", "printed"),
    [
        ((), ""),
        (("spec", "replicas"), "spec.replicas"),
        (
            ("metadata", "labels", "app.kubernetes.io/name"),
            'metadata.labels["app.kubernetes.io/name"]',
        ),
        (("data", "app.properties"), 'data["app.properties"]'),
        (("data", "a]b"), 'data["a]b"]'),
        (("data", ""), 'data[""]'),
        (("data", 'say "hi"'), 'data["say \\"hi\\""]'),
        (("app.kubernetes.io", "x"), '["app.kubernetes.io"].x'),
        (
            ("spec", "containers", Match((("name", "web"),)), "image"),
            "spec.containers[name=web].image",
        ),
        (
            ("spec", "ports", Match((("containerPort", 80), ("protocol", "TCP")))),
            "spec.ports[containerPort=80,protocol=TCP]",
        ),
        (("spec", "items", Match((("enabled", True),))), "spec.items[enabled=true]"),
        (("spec", "args", 0), "spec.args[0]"),
        (("spec", "matrix", 1, 2), "spec.matrix[1][2]"),
        (("spec", "under_score-dash9"), "spec.under_score-dash9"),
    ],
)
def test_format_path(path: diffing.Path, printed: str) -> None:
    assert diffing.format_path(path) == printed


DOCUMENT = {
    "spec": {
        "ports": [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53}],
        "args": ["a", "b"],
        "count": 0,
    }
}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        (("spec", "args", 1), "b"),
        (("spec", "args", 2), None),
        (("spec", "args", -1), None),
        (("spec", "args", "x"), None),
        (("spec", "count", "x"), None),
        (("spec", "missing", "x"), None),
        (
            ("spec", "ports", Match((("containerPort", 53), ("protocol", "UDP")))),
            {"containerPort": 53, "protocol": "UDP"},
        ),
        # A key field the item leaves out (a defaulted protocol) matches any value...
        (
            ("spec", "ports", Match((("containerPort", 53), ("protocol", "TCP")))),
            {"containerPort": 53},
        ),
        (("spec", "ports", Match((("containerPort", 80),))), None),
        (("spec", "args", Match((("name", "a"),))), None),
        (("spec", Match((("name", "a"),))), None),
    ],
)
def test_lookup(path: diffing.Path, found: Any) -> None:
    assert diffing.lookup(DOCUMENT, path) == found


def test_an_item_with_every_key_field_wins_over_one_that_leaves_some_out() -> None:
    # ...but only when no item states them all: a TCP and a UDP port of one number.
    ports = [{"containerPort": 53}, {"containerPort": 53, "protocol": "UDP"}]
    udp = Match((("containerPort", 53), ("protocol", "UDP")))
    assert diffing.lookup({"ports": ports}, ("ports", udp)) == ports[1]


def test_writer_and_match_show_what_they_are() -> None:
    writer = diffing.Writer(manager="kubectl", operation="Update", subresource="scale")
    assert repr(writer) == "Writer(manager='kubectl', operation='Update', subresource='scale')"
    assert (
        str(Match((("containerPort", 80), ("protocol", "TCP")))) == "containerPort=80,protocol=TCP"
    )
