"""Quantities come back in resource.Quantity's canonical form."""

import pytest

from fleet.sim import quantities

CANONICAL = [
    ("0.5", "500m"),
    (0.5, "500m"),
    (1, "1"),
    ("1000m", "1"),
    ("1500m", "1500m"),
    ("2000", "2k"),
    ("1500", "1500"),
    ("100M", "100M"),
    ("0.0001", "100u"),
    ("1.5Gi", "1536Mi"),
    ("1024Mi", "1Gi"),
    ("500Ki", "500Ki"),
    ("0.5Ki", "512"),
    ("1e3", "1e3"),
    ("0", "0"),
    ("-1", "-1"),
    ("+2", "2"),
    (1e-05, "10u"),
]


@pytest.mark.parametrize(("given", "expected"), CANONICAL)
def test_canonical_form(given: object, expected: str) -> None:
    assert quantities.canonical(given) == expected


@pytest.mark.parametrize("given", ["abc", "1.2.3", "5 Gi", "1Zi", "", True, None, [1]])
def test_not_a_quantity(given: object) -> None:
    with pytest.raises(quantities.QuantityError):
        quantities.canonical(given)
