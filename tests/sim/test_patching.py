"""Merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch, as pure functions."""

import copy
from typing import Any

import pytest

from fleet.sim import patching, writing

# RFC 7386, appendix A.
MERGE = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), MERGE)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert patching.merge_patch(target, patch) == expected
    assert target == before


DOCUMENT = {"foo": "bar", "list": ["a", "c"], "nested": {"k": 1}, "a/b": 2, "m~n": 3}

JSON_PATCHES = [
    ([{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux"}),
    ([{"op": "add", "path": "/list/1", "value": "b"}], {"list": ["a", "b", "c"]}),
    ([{"op": "add", "path": "/list/-", "value": "d"}], {"list": ["a", "c", "d"]}),
    ([{"op": "remove", "path": "/foo"}], {"foo": None}),
    ([{"op": "remove", "path": "/list/0"}], {"list": ["c"]}),
    ([{"op": "replace", "path": "/nested/k", "value": 2}], {"nested": {"k": 2}}),
    ([{"op": "move", "from": "/foo", "path": "/moved"}], {"foo": None, "moved": "bar"}),
    ([{"op": "copy", "from": "/foo", "path": "/copied"}], {"copied": "bar"}),
    ([{"op": "test", "path": "/foo", "value": "bar"}], {}),
    ([{"op": "replace", "path": "/a~1b", "value": 9}], {"a/b": 9}),
    ([{"op": "replace", "path": "/m~0n", "value": 9}], {"m~n": 9}),
]


@pytest.mark.parametrize(("operations", "changes"), JSON_PATCHES)
def test_json_patch_follows_rfc_6902(operations: list[Any], changes: dict[str, Any]) -> None:
    expected = {**DOCUMENT, **changes}
    expected = {k: v for k, v in expected.items() if v is not None}
    assert patching.json_patch(DOCUMENT, operations) == expected
    assert DOCUMENT["list"] == ["a", "c"]


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "test", "path": "/foo", "value": "nope"}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "add", "path": "/missing/deeper", "value": 1}],
        [{"op": "add", "path": "/list/7", "value": 1}],
        [{"op": "add", "path": "/list/01", "value": 1}],
        [{"op": "add", "path": "nope", "value": 1}],
        [{"op": "add", "path": "/x"}],
        [{"op": "explode", "path": "/foo"}],
        [{"op": "move", "from": "/nested", "path": "/nested/inner"}],
        ["not an operation"],
        {"op": "add"},
    ],
)
def test_json_patch_errors_are_patch_errors_and_change_nothing(operations: Any) -> None:
    with pytest.raises(patching.PatchError):
        patching.json_patch(DOCUMENT, operations)
    assert DOCUMENT["foo"] == "bar"


def test_a_failed_operation_undoes_the_earlier_ones() -> None:
    operations = [
        {"op": "replace", "path": "/foo", "value": "changed"},
        {"op": "test", "path": "/foo", "value": "bar"},
    ]
    with pytest.raises(patching.PatchError):
        patching.json_patch(DOCUMENT, operations)
    assert DOCUMENT["foo"] == "bar"


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "finalizers": ["a", "b"]},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "web", "image": "web:1", "ports": [{"containerPort": 80}]},
                    {"name": "sidecar", "image": "proxy:1"},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "tolerations": [{"key": "a", "operator": "Exists"}],
            }
        }
    },
}

STRATEGIC = [
    (
        "containers merge by name",
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}},
        lambda d: d["spec"]["template"]["spec"]["containers"],
        [
            {"name": "web", "image": "web:2", "ports": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "proxy:1"},
        ],
    ),
    (
        "a new container is appended",
        {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "n:1"}]}}}},
        lambda d: [c["name"] for c in d["spec"]["template"]["spec"]["containers"]],
        ["web", "sidecar", "new"],
    ),
    (
        "$patch: delete removes an item",
        {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}},
        lambda d: [c["name"] for c in d["spec"]["template"]["spec"]["containers"]],
        ["web"],
    ),
    (
        "$setElementOrder reorders",
        {
            "spec": {
                "template": {
                    "spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]}
                }
            }
        },
        lambda d: [c["name"] for c in d["spec"]["template"]["spec"]["containers"]],
        ["sidecar", "web"],
    ),
    (
        "$patch: replace in a list replaces it",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "only", "image": "o:1"}, {"$patch": "replace"}]
                    }
                }
            }
        },
        lambda d: d["spec"]["template"]["spec"]["containers"],
        [{"name": "only", "image": "o:1"}],
    ),
    (
        "$retainKeys keeps only the listed keys",
        {"spec": {"template": {"spec": {"$retainKeys": ["containers"], "volumes": None}}}},
        lambda d: sorted(d["spec"]["template"]["spec"]),
        ["containers"],
    ),
    (
        "$deleteFromPrimitiveList removes values",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
        lambda d: d["metadata"]["finalizers"],
        ["b"],
    ),
    (
        "volumes merge by name",
        {"spec": {"template": {"spec": {"volumes": [{"name": "other"}]}}}},
        lambda d: d["spec"]["template"]["spec"]["volumes"],
        [{"name": "data", "emptyDir": {}}, {"name": "other"}],
    ),
    (
        "a list without a merge key is replaced",
        {"spec": {"template": {"spec": {"tolerations": [{"key": "b"}]}}}},
        lambda d: d["spec"]["template"]["spec"]["tolerations"],
        [{"key": "b"}],
    ),
    (
        "null deletes a field",
        {"metadata": {"finalizers": None}},
        lambda d: "finalizers" in d["metadata"],
        False,
    ),
]


@pytest.mark.parametrize(
    ("patch", "read", "expected"),
    [case[1:] for case in STRATEGIC],
    ids=[case[0] for case in STRATEGIC],
)
def test_strategic_merge_patch(patch: Any, read: Any, expected: Any) -> None:
    before = copy.deepcopy(DEPLOYMENT)
    patched = patching.strategic_merge_patch(
        DEPLOYMENT, patch, merge_key=writing.merge_key("apps/v1")
    )
    assert read(patched) == expected
    assert before == DEPLOYMENT


def test_merge_keys_come_from_the_server_side_apply_table() -> None:
    key = writing.merge_key("apps/v1")
    assert key(("spec", "template", "spec", "containers")) == "name"
    assert key(("spec", "template", "spec", "containers", "ports")) == "containerPort"
    assert key(("metadata", "finalizers")) is None
    assert writing.merge_key("example.com/v1")(("spec", "containers")) is None


def test_a_strategic_patch_must_be_an_object() -> None:
    with pytest.raises(patching.PatchError):
        patching.strategic_merge_patch({}, [1], merge_key=writing.merge_key("v1"))
