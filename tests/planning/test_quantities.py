"""Kubernetes quantities compared by value (`fixtures/quantities.yaml`)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from fleet.planning import quantities
from tests.planning import repos


@pytest.mark.parametrize("case", repos.cases("quantities"))
def test_parse(case: dict[str, Any]) -> None:
    expected = Fraction(case["number"]) if case["number"] is not None else None
    assert quantities.parse(case["value"]) == expected


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (0.5, "500m", True),
        ("0.1", "100m", True),
        (0.1, "100m", True),
        ("1Gi", 1073741824, True),
        ("1024Mi", "1Gi", True),
        ("1e3", "1k", True),
        (1, "1", True),
        (1, 1.0, True),
        ("1k", "1Ki", False),
        ("1M", "1Mi", False),
        ("500m", "0.499", False),
        (True, "1", False),
        (1, True, False),
        ("x", "x", False),  # both must be quantities, even when the text is the same
        (None, None, False),
        ("1", None, False),
    ],
)
def test_equal(left: object, right: object, equal: bool) -> None:
    assert quantities.equal(left, right) is equal
    assert quantities.equal(right, left) is equal
