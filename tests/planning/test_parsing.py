"""YAML to JSON values: positions kept, Kubernetes' rules applied, nothing can crash or stall."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.planning import parsing
from fleet.structs.problems import Location

SOURCE = Location("f.yaml")

LAUGHS = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"%c: &%c [%s]\n" % (ord(name), ord(name), b", ".join([b"*" + bytes([ord(name) - 1])] * 10))
    for name in "bcdefg"
)


@pytest.mark.parametrize(
    ("data", "values", "problems"),
    [
        (
            b"a: 1\n---\n# only a comment\n---\nb: [x, 2.5, null, true]\n",
            [{"a": 1}, {"b": ["x", 2.5, None, True]}],
            [],
        ),
        (b"on: yes\n1: 0x10\n", [{"on": True, "1": 16}], []),
        (b"when: 2024-01-01\n", [{"when": "2024-01-01"}], []),
        (b'{"json": {"tabs":\t[1,\t2]}}', [{"json": {"tabs": [1, 2]}}], []),
        (
            b"base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\n",
            [{"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 3}}],
            [],
        ),
        (
            b"a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc: {<<: [*a, *b]}\n",
            [{"a": {"x": 1}, "b": {"x": 2, "z": 2}, "c": {"x": 1, "z": 2}}],
            [],
        ),
        (
            b"a: 1\nb: 2\na: 3\n",
            [{"a": 1, "b": 2}],
            ["f.yaml:3:1: duplicate key 'a' (first at line 1)"],
        ),
        (
            b"a: .inf\nb: !!binary aGk=\nc: !custom x\n",
            [{"a": None, "b": None, "c": None}],
            [
                "f.yaml:1:4: infinity and NaN are not JSON numbers",
                "f.yaml:2:4: unsupported YAML tag 'tag:yaml.org,2002:binary'",
                "f.yaml:3:4: unsupported YAML tag '!custom'",
            ],
        ),
        (
            b"? [a]\n: 1\ns: !!set {a}\n",
            [{"s": None}],
            [
                "f.yaml:1:3: a mapping key must be a string",
                "f.yaml:3:4: unsupported YAML tag 'tag:yaml.org,2002:set'",
            ],
        ),
        (
            b"a: {<<: 3}\n",
            [{"a": {}}],
            ["f.yaml:1:9: a merge key (<<) takes a mapping or a list of mappings"],
        ),
        (
            b"a: &a [*a]\n",
            [{"a": [None]}],
            ["f.yaml:1:4: an alias refers to a node that contains it"],
        ),
        (b"[" * 101 + b"]" * 101, [], ["f.yaml:1:101: nested deeper than 100 levels"]),
        (LAUGHS, [], ["f.yaml:1:14: aliases expand to more than 100000 values"]),
        (
            b"a: [1, 2\nb: 3\n",
            [],
            [
                "f.yaml:2:2: invalid YAML: did not find expected ',' or ']'"
                " (while parsing a flow sequence at line 1)"
            ],
        ),
        (
            b"a: 1\n\tb: 2\n",
            [],
            [
                "f.yaml:2:1: invalid YAML: found a tab character that violates indentation"
                " (while scanning a plain scalar at line 1)"
            ],
        ),
        (
            b"a: b\nc: \xff\xfe\n",
            [],
            ["f.yaml:2: invalid YAML: character #x00ff: invalid leading UTF-8 octet"],
        ),
        (
            b"a: \x00\n",
            [],
            ["f.yaml:1: invalid YAML: character #x0000: control characters are not allowed"],
        ),
    ],
)
def test_values_and_problems(data: bytes, values: list[Any], problems: list[str]) -> None:
    parsed = parsing.parse(data, source=SOURCE, record_all=False)
    assert [document.value for document in parsed.documents] == values
    assert [str(problem) for problem in parsed.problems] == problems


def test_problems_never_quote_the_offending_line() -> None:
    # PyYAML's own messages show a snippet of the line, which could be a Secret's value.
    parsed = parsing.parse(b"password: 'hunter2\n", source=SOURCE, record_all=False)
    assert parsed.problems
    assert all("hunter2" not in str(problem) for problem in parsed.problems)


def test_positions_of_every_value_or_only_of_placeholders() -> None:
    data = b"kind: Fleet\nitems:\n  - name: a\n    value: '${x}'\n"
    everything = parsing.parse(data, source=SOURCE, record_all=True).documents[0]
    assert str(everything.where(("items", 0, "name"))) == "f.yaml:3:11"
    assert str(everything.where_key(("items", 0, "name"))) == "f.yaml:3:5"
    assert str(everything.where(("items", 0, "missing", 3))) == "f.yaml:3:5"
    placeholders = parsing.parse(data, source=SOURCE, record_all=False).documents[0]
    assert set(placeholders.positions) == {(), ("items", 0, "value")}
    assert str(placeholders.where(("items", 0, "name"))) == "f.yaml:1:1"


def test_positions_name_the_revision_a_file_was_read_at() -> None:
    source = Location("web/a.yaml", revision="4b1c0de")
    parsed = parsing.parse(b"a: 1\na: 2\n", source=source, record_all=False)
    assert str(parsed.problems[0]) == "web/a.yaml@4b1c0de:2:1: duplicate key 'a' (first at line 1)"


def test_a_document_repr_shows_where_not_what() -> None:
    document = parsing.parse(b"password: hunter2\n", source=SOURCE, record_all=True).documents[0]
    assert (
        repr(document)
        == "Document(location=Location(file='f.yaml', line=1, column=1, revision=None))"
    )
