"""Kubernetes quantities (`500m`, `1Gi`, `0.5`, `1e3`), compared by value.

An API server stores a resource quantity in its canonical form: `cpu: 0.5` comes back as
`500m`, `memory: 1073741824` as `1Gi`. A diff that compared the text would see a change
on every sync and apply forever, so fleet compares quantities by the number they stand
for. Values are exact fractions: `0.1` and `100m` are the same, with no float rounding.
"""

from __future__ import annotations

import re
from fractions import Fraction

_SUFFIXES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]{1,3}))?"
)


def parse(value: object) -> Fraction | None:
    """The number a quantity stands for, or None if ``value`` is not a quantity."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # YAML gives `cpu: 0.5` as a float; its decimal text is what the author meant.
        value = repr(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.fullmatch(value.strip())
    if match is None:
        return None
    number = Fraction(match["number"])
    if match["exponent"] is not None:
        return number * Fraction(10) ** int(match["exponent"])
    return number * _SUFFIXES[match["suffix"] or ""]


def equal(left: object, right: object) -> bool:
    """Whether two values are the same quantity (both must parse)."""
    a, b = parse(left), parse(right)
    return a is not None and a == b
