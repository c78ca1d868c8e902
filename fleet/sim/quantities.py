"""Resource quantities in their canonical form, as the apiserver stores them.

A manifest that asks for `cpu: 0.5` reads back as `cpu: 500m`, and `memory: 1.5Gi` as
`1536Mi`. fleet must not mistake that normalisation for drift (DESIGN.md says so), so
the simulator normalises quantities exactly the way `resource.Quantity` does: the
value is kept to nano precision (rounded up), and written with the suffix family the
user chose (binary `Ki`..`Ei`, decimal `n`..`E`, or an exponent `e3`), with the largest
suffix that leaves an integer; binary values under 1024 or with a fraction fall back
to decimal.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_SYNTAX = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


class QuantityError(ValueError):
    """Not a quantity; the apiserver rejects it (400) when decoding the object."""


def canonical(value: object) -> str:
    """The canonical string of a quantity given as a string or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise QuantityError(f"quantities must be strings or numbers, not {value!r}")
    text = repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, float) and "e" in text:
        text = format(value, ".9f").rstrip("0").rstrip(".")
    match = _SYNTAX.match(text.strip())
    if match is None:
        raise QuantityError(
            f"quantities must match the regular expression "
            f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got {text!r})"
        )
    sign, number, suffix = match.groups()
    suffix = suffix or ""
    amount = Fraction(number)
    if suffix in _BINARY:
        amount *= 1024 ** _BINARY[suffix]
        family = "binary"
    elif suffix[:1] in ("e", "E"):
        amount *= Fraction(10) ** int(suffix[1:])
        family = "exponent"
    else:
        amount *= Fraction(10) ** _DECIMAL[suffix]
        family = "decimal"
    # Quantities keep nano precision, rounding up, as resource.Quantity does.
    amount = Fraction(math.ceil(amount * 10**9), 10**9)
    if sign == "-":
        amount = -amount
    if amount == 0:
        return "0"
    if family == "binary" and (abs(amount) < 1024 or amount.denominator != 1):
        family = "decimal"
    if family == "binary":
        return _binary(int(amount))
    return _decimal(amount, exponent_form=family == "exponent")


def _binary(amount: int) -> str:
    power = 0
    while power < 6 and amount % 1024 == 0:
        amount //= 1024
        power += 1
    return f"{amount}{_BINARY_SUFFIX[power]}"


def _decimal(amount: Fraction, *, exponent_form: bool) -> str:
    exponent = -9
    mantissa = amount * 10**9
    # The largest multiple of three that still leaves an integer mantissa.
    while exponent < 18 and mantissa % 1000 == 0:
        mantissa /= 1000
        exponent += 3
    number = int(mantissa)
    if exponent_form:
        return f"{number}e{exponent}" if exponent else str(number)
    return f"{number}{_DECIMAL_SUFFIX[exponent]}"
