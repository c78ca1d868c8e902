"""Label selectors match as Kubernetes' do, from fleet.yaml to the target that renders;
names and labels are checked as Kubernetes does."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.planning import loading, naming, rendering, selectors
from fleet.planning.specs import Operator, Requirement, Selector
from fleet.structs.sources import SourceFile
from tests.planning import repos

IN, NOT_IN, EXISTS, ABSENT = Operator.IN, Operator.NOT_IN, Operator.EXISTS, Operator.DOES_NOT_EXIST


def _selector(*requirements: tuple[str, Operator, tuple[str, ...]]) -> Selector:
    return Selector(
        tuple(Requirement(key, op, frozenset(values)) for key, op, values in requirements)
    )


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (_selector(), {}, True),
        (_selector(("env", IN, ("dev",))), {"env": "dev"}, True),
        (_selector(("env", IN, ("dev", "prod"))), {"env": "prod"}, True),
        (_selector(("env", IN, ("dev",))), {"env": "prod"}, False),
        (_selector(("env", IN, ("dev",))), {}, False),
        (_selector(("env", NOT_IN, ("prod",))), {"env": "dev"}, True),
        (_selector(("env", NOT_IN, ("prod",))), {}, True),
        (_selector(("env", NOT_IN, ("prod",))), {"env": "prod"}, False),
        (_selector(("gpu", EXISTS, ())), {"gpu": ""}, True),
        (_selector(("gpu", EXISTS, ())), {}, False),
        (_selector(("gpu", ABSENT, ())), {}, True),
        (_selector(("gpu", ABSENT, ())), {"gpu": "a100"}, False),
        (
            _selector(("env", IN, ("prod",)), ("region", IN, ("eu",))),
            {"env": "prod", "region": "us"},
            False,
        ),
        (
            _selector(("env", IN, ("prod",)), ("region", IN, ("eu",))),
            {"env": "prod", "region": "eu"},
            True,
        ),
    ],
)
def test_matches(selector: Selector, labels: dict[str, str], expected: bool) -> None:
    assert selectors.matches(selector, labels) is expected


@pytest.mark.parametrize(
    ("check", "value", "problem"),
    [
        (naming.label_key_problem, "env", None),
        (naming.label_key_problem, "app.kubernetes.io/name", None),
        (naming.label_key_problem, "a" * 63, None),
        (naming.label_key_problem, "a" * 64, "invalid"),
        (naming.label_key_problem, "/name", "empty prefix"),
        (naming.label_key_problem, "Example.com/name", "invalid prefix"),
        (naming.label_key_problem, "-name", "invalid"),
        (naming.label_value_problem, "", None),
        (naming.label_value_problem, "v1.2_3-b", None),
        (naming.label_value_problem, "a b", "invalid"),
        (naming.label_value_problem, "x" * 64, "invalid"),
        (naming.dns_label_problem, "web-1", None),
        (naming.dns_label_problem, "Web", "not a valid name"),
        (naming.dns_label_problem, "a" * 64, "longer than 63"),
        (naming.parameter_problem, "image_tag2", None),
        (naming.parameter_problem, "2tag", "not a valid parameter name"),
    ],
)
def test_names_and_labels_are_checked_as_kubernetes_does(
    check: object, value: str, problem: str | None
) -> None:
    found = check(value)  # type: ignore[operator]
    assert found is None if problem is None else problem in found


KEYS = st.sampled_from(["env", "region", "tier", "example.com/team"])
VALUES = st.sampled_from(["", "dev", "prod", "eu", "us"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)
REQUIREMENTS = st.builds(
    Requirement,
    key=KEYS,
    operator=st.sampled_from(Operator),
    values=st.frozensets(VALUES, max_size=3),
)


@settings(max_examples=200, deadline=None, database=None)
@given(requirements=st.lists(REQUIREMENTS, max_size=4), labels=LABELS)
def test_a_selector_is_the_conjunction_of_its_requirements(
    requirements: list[Requirement], labels: dict[str, str]
) -> None:
    whole = selectors.matches(Selector(tuple(requirements)), labels)
    assert whole == all(selectors.matches(Selector((r,)), labels) for r in requirements)


@settings(max_examples=200, deadline=None, database=None)
@given(key=KEYS, values=st.frozensets(VALUES, min_size=1, max_size=3), labels=LABELS)
def test_in_and_not_in_split_the_clusters_that_have_the_label(
    key: str, values: frozenset[str], labels: dict[str, str]
) -> None:
    within = selectors.matches(Selector((Requirement(key, IN, values),)), labels)
    outside = selectors.matches(Selector((Requirement(key, NOT_IN, values),)), labels)
    exists = selectors.matches(Selector((Requirement(key, EXISTS),)), labels)
    absent = selectors.matches(Selector((Requirement(key, ABSENT),)), labels)
    assert exists != absent
    assert within != outside if exists else (not within and outside)


CONFIG_MAP = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\n"


@pytest.mark.parametrize("case", repos.cases("targets"))
def test_targets_select_clusters_as_fleet_yaml_writes_them(case: dict[str, Any]) -> None:
    document = {
        "apiVersion": "fleet.dev/v1alpha1",
        "kind": "Fleet",
        "bundles": [{"name": "app", "path": "app", "targets": case["targets"]}],
    }
    spec = loading.load(yaml.safe_dump(document).encode())
    clusters = [
        repos.cluster(f"c{index}", **entry["labels"])
        for index, entry in enumerate(case["clusters"])
    ]
    files = {source: [SourceFile("app/c.yaml", CONFIG_MAP)] for source in spec.sources()}
    render = rendering.render_fleet(spec=spec, clusters=clusters, files=files)
    chosen = [
        bundle.target if (bundle := render.states[cluster.name].bundle("app")) else None
        for cluster in clusters
    ]
    assert chosen == [entry["target"] for entry in case["clusters"]]
