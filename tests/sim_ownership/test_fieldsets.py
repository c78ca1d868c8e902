"""The FieldsV1 format: reading, writing back, and printing paths."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.sim import fieldsets
from tests.sim_ownership.conftest import FieldsCase


def test_fields_v1_round_trip(fields_case: FieldsCase) -> None:
    fields = fieldsets.parse(fields_case.fieldsV1)
    assert [fieldsets.describe(path) for path in sorted(fields, key=fieldsets.path_order)] == (
        fields_case.fields
    )
    written = fieldsets.serialise(fields)
    assert written == (fields_case.canonical or fields_case.fieldsV1)
    assert fieldsets.parse(written) == fields


def test_fields_are_written_in_the_api_servers_order() -> None:
    written = fieldsets.serialise(
        fieldsets.parse({"f:b": {}, "f:a": {'k:{"name":"x"}': {"f:name": {}, ".": {}}}})
    )
    assert list(written) == ["f:a", "f:b"]
    assert list(written["f:a"]['k:{"name":"x"}']) == [".", "f:name"]


@pytest.mark.parametrize(
    ("fields_v1", "problem"),
    [
        (["f:a"], "fieldsV1 must be an object"),
        ({"f:a": []}, "'f:a' must map to an object"),
        ({"f:spec": {"name": {}}}, "'name' is not a field path element"),
        ({"k:[1]": {}}, "the keys of an item must be an object"),
        ({"v:{": {}}, "'v:{' is not a field path element"),
        ({"i:x": {}}, "'i:x' is not a field path element"),
    ],
)
def test_malformed_fields_v1_is_refused(fields_v1: Any, problem: str) -> None:
    with pytest.raises(fieldsets.MalformedFieldsError, match=problem):
        fieldsets.parse(fields_v1)
