"""Faults a virtual cluster can be told to have, for reliability tests and benchmarks.

A fault setting is a value (`Faults`), set for all clusters by flags and per cluster by
the admin endpoint or in-process; `verdict` decides, for one request, what the
cluster does to it. Decisions draw from the cluster's own seeded random generator,
so a test that sets a 30 % error rate sees the same sequence on every run.

- `latency`: seconds added before every answer (watch streams included).
- `error_rate`: the share of requests answered with one of `error_codes` (500, 503,
  429); 503 and 429 carry `Retry-After`.
- `drop_watches_after`: watch connections are cut (not ended cleanly) after this many
  seconds, as a load balancer with an idle timeout does.
- `outage`: every request gets 503 (`unavailable`) or has its connection reset
  (`reset`); starting an outage also cuts the cluster's open watches.
History compaction is not a setting but an action (`VirtualCluster.compact`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class Outage(StrEnum):
    NONE = "none"
    UNAVAILABLE = "unavailable"
    RESET = "reset"


ERROR_CODES = (500, 503, 429)


@dataclass(frozen=True, slots=True)
class Faults:
    latency: float = 0.0
    error_rate: float = 0.0
    error_codes: tuple[int, ...] = ERROR_CODES
    retry_after: int = 1
    drop_watches_after: float | None = None
    outage: Outage = Outage.NONE

    def __post_init__(self) -> None:
        if self.latency < 0 or self.latency > 600:
            raise ValueError("latency must be between 0 and 600 seconds")
        if not 0 <= self.error_rate <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if not self.error_codes or any(code not in ERROR_CODES for code in self.error_codes):
            raise ValueError(f"error_codes must be some of {list(ERROR_CODES)}")
        if self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if self.drop_watches_after is not None and self.drop_watches_after <= 0:
            raise ValueError("drop_watches_after must be positive (or null for never)")

    @property
    def active(self) -> bool:
        return self != NONE

    def to_json(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "error_rate": self.error_rate,
            "error_codes": list(self.error_codes),
            "retry_after": self.retry_after,
            "drop_watches_after": self.drop_watches_after,
            "outage": str(self.outage),
        }

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """These faults with some settings changed, as the admin endpoint receives them.

        Raises ValueError naming the setting when a name or a value is wrong.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in changes.items():
            values[name] = _coerce(name, value)
        return replace(self, **values)


def _coerce(name: str, value: Any) -> Any:
    try:
        if name in ("latency", "error_rate"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        if name == "retry_after":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError
            return value
        if name == "drop_watches_after":
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        if name == "error_codes":
            if not isinstance(value, list) or not all(type(v) is int for v in value):
                raise TypeError
            return tuple(value)
        return Outage(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: invalid value {value!r}") from None


NONE = Faults()


class Verdict(StrEnum):
    """What happens to one request."""

    SERVE = "serve"
    FAIL = "fail"
    UNAVAILABLE = "unavailable"
    RESET = "reset"


def verdict(faults: Faults, rng: random.Random) -> tuple[Verdict, int]:
    """The fate of one request, and the status code when it fails."""
    if faults.outage is Outage.RESET:
        return Verdict.RESET, 0
    if faults.outage is Outage.UNAVAILABLE:
        return Verdict.UNAVAILABLE, 503
    if faults.error_rate and rng.random() < faults.error_rate:
        return Verdict.FAIL, rng.choice(faults.error_codes)
    return Verdict.SERVE, 0
