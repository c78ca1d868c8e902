"""Parameters: precedence, escaping, structure kept, and a missing one is a located error."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.planning import parsing, substituting
from fleet.structs.problems import Location
from tests.planning import repos

CLUSTER = repos.cluster("eu-1", region="eu-west", **{"example.com/tier": "gold"})
TARGET = {"tag": "2.0", "shared": "from target"}
BUNDLE = {"shared": "from bundle", "message": "hi: there # not a comment", "empty": ""}


def _fill(text: str) -> tuple[Any, list[str]]:
    document = parsing.parse(text.encode(), source=Location("m.yaml"), record_all=False).documents[
        0
    ]
    parameters = substituting.Parameters.layered(TARGET, BUNDLE, cluster=CLUSTER)
    value, problems = substituting.fill(substituting.template(document), parameters)
    return value, [f"{location}: {message}" for location, message in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v: ${tag}", {"v": "2.0"}),
        ("v: '${shared}'", {"v": "from target"}),
        ("v: x-${message}-y", {"v": "x-hi: there # not a comment-y"}),
        ("v: '[${empty}]'", {"v": "[]"}),
        ("v: ${cluster.name}/${cluster.labels.region}", {"v": "eu-1/eu-west"}),
        ("v: ${cluster.labels.example.com/tier}", {"v": "gold"}),
        ("v: $${tag} and $$${tag}", {"v": "${tag} and $${tag}"}),
        ("v: $tag {tag} $ {tag}", {"v": "$tag {tag} $ {tag}"}),
        ("${tag}: key stays", {"${tag}": "key stays"}),
        ("v: [a, {b: '${tag}'}]", {"v": ["a", {"b": "2.0"}]}),
        ("replicas: '${tag}'\nn: 3", {"replicas": "2.0", "n": 3}),
    ],
)
def test_substitution(text: str, expected: Any) -> None:
    assert _fill(text) == (expected, [])


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("a: 1\nv: ${tga}", ["m.yaml:2:4: parameter 'tga' is not defined (did you mean 'tag'?)"]),
        ("v: ${nothing_like_it}", ["m.yaml:1:4: parameter 'nothing_like_it' is not defined"]),
        (
            "v: ${cluster.labels.env}",
            ["m.yaml:1:4: cluster eu-1 has no label 'env' (used as '${cluster.labels.env}')"],
        ),
        ("v: '${tag'", ["m.yaml:1:4: unterminated '${' (write '$${' for a literal '${')"]),
        ("v: '${}'", ["m.yaml:1:4: empty parameter name in '${}'"]),
        (
            "v: [ok, '${a} ${b}']",
            [
                "m.yaml:1:9: parameter 'a' is not defined",
                "m.yaml:1:9: parameter 'b' is not defined",
            ],
        ),
    ],
)
def test_problems_name_the_place_and_parameter(text: str, problems: list[str]) -> None:
    assert _fill(text)[1] == problems


def test_a_secret_value_is_never_quoted_in_a_problem() -> None:
    _, problems = _fill("stringData:\n  password: 'hunter2-${missing}'\n")
    assert problems
    assert all("hunter2" not in problem for problem in problems)


def test_each_fill_is_a_fresh_copy() -> None:
    document = parsing.parse(b"a: {b: [1]}", source=Location("m.yaml"), record_all=False).documents[
        0
    ]
    template = substituting.template(document)
    parameters = substituting.Parameters.layered(cluster=CLUSTER)
    first, _ = substituting.fill(template, parameters)
    first["a"]["b"].append(2)
    assert substituting.fill(template, parameters)[0] == {"a": {"b": [1]}}
