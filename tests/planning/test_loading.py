"""Loading fleet.yaml: every problem reported at once, each with its line and column."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.planning import loading, selectors
from fleet.planning.specs import BundleSource, Drift, Operator, PatchType, Requirement
from fleet.structs import errors
from tests.planning import repos


@pytest.mark.parametrize("case", repos.cases("spec-errors"))
def test_each_problem_is_reported_with_its_position(case: dict[str, Any]) -> None:
    with pytest.raises(errors.SpecError) as raised:
        loading.load(case["fleet"].encode())
    assert [str(problem) for problem in raised.value.problems] == case["problems"]


def test_spec_error_message_lists_every_problem_under_the_file() -> None:
    with pytest.raises(errors.SpecError) as raised:
        loading.load(b"apiVersion: fleet.dev/v1alpha1\nkind: Fleet\nbundles: []\npolicy: []\n")
    assert str(raised.value) == (
        "fleet.yaml: 2 problems\n"
        "  fleet.yaml:3:10: bundles must not be empty\n"
        "  fleet.yaml:4:1: unknown key 'policy' in the document (did you mean 'policies'?)"
    )
    assert isinstance(raised.value, errors.UserError)


def test_a_valid_spec_becomes_typed_values() -> None:
    spec, _ = repos.load(repos.REPOS / "basic")
    base, web = spec.bundles
    assert (base.name, base.path, base.namespace, base.drift) == (
        "base",
        "base",
        None,
        Drift.CORRECT,
    )
    assert (web.path, web.namespace, web.depends_on) == ("apps/web", "web", ("base",))
    assert dict(web.params) == {"greeting": "hello", "tier": "bundle"}
    canary, prod, rest = web.targets
    assert canary.cluster_selector.requirements == (
        Requirement("env", Operator.IN, frozenset({"prod"})),
        Requirement("canary", Operator.IN, frozenset({"true"})),
    )
    assert [patch.type for patch in prod.patches] == [PatchType.MERGE, PatchType.JSON]
    assert str(prod.patches[1].target) == "Deployment.apps web/web"
    assert (prod.patches[0].location.line, prod.location.line) == (28, 22)
    assert rest.cluster_selector.requirements[0].operator is Operator.NOT_IN
    assert spec.sources() == (BundleSource("apps/web"), BundleSource("base"))


def test_sources_are_each_directory_at_each_pinned_revision_once() -> None:
    spec = loading.load(
        b"apiVersion: fleet.dev/v1alpha1\nkind: Fleet\nbundles:\n"
        b"  - name: web\n    path: web\n    targets:\n"
        b"      - {name: a, clusterSelector: {matchLabels: {env: dev}}}\n"
        b"      - {name: b, clusterSelector: {}, revision: 4b1c0de}\n"
        b"      - {name: c, clusterSelector: {}, revision: 4b1c0de}\n"
        b"  - {name: api, path: web, targets: [{name: all, clusterSelector: {}}]}\n"
    )
    assert spec.sources() == (BundleSource("web"), BundleSource("web", "4b1c0de"))
    assert str(spec.sources()[1]) == "web@4b1c0de"


def test_yaml_anchors_and_merge_keys_can_share_selectors() -> None:
    spec = loading.load(
        b"apiVersion: fleet.dev/v1alpha1\nkind: Fleet\n"
        b"bundles:\n"
        b"  - name: web\n    path: web\n    targets:\n"
        b"      - &prod {name: prod, clusterSelector: {matchLabels: {env: prod}}}\n"
        b"  - name: api\n    path: api\n    targets:\n"
        b"      - {<<: *prod, params: {tag: '2'}}\n"
    )
    target = spec.bundles[1].targets[0]
    assert (target.name, dict(target.params)) == ("prod", {"tag": "2"})
    assert selectors.matches(target.cluster_selector, {"env": "prod"})


def test_the_empty_selector_selects_every_cluster() -> None:
    spec, _ = repos.load(repos.REPOS / "basic")
    assert selectors.matches(spec.bundles[0].targets[0].cluster_selector, {})
