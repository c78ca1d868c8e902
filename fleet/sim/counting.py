"""Request counters per cluster and verb, so tests can prove what a client did not do.

"An idle, in-sync fleet makes no write and no list request" is a claim about requests,
so the simulator counts every request that reaches a cluster's API, by the verb the
apiserver would log: get, list, watch, create, update, patch, apply, delete, plus
discovery (version, group and resource lists, OpenAPI) and dry runs. Dry runs count
only as `dry_run`: they change nothing, and fleet's diffs use them. Requests refused
before the API (wrong token, an injected fault) are not counted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Verb(StrEnum):
    GET = "get"
    LIST = "list"
    WATCH = "watch"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    APPLY = "apply"
    DELETE = "delete"
    DISCOVERY = "discovery"
    DRY_RUN = "dry_run"


WRITES = frozenset({Verb.CREATE, Verb.UPDATE, Verb.PATCH, Verb.APPLY, Verb.DELETE})


@dataclass(frozen=True, slots=True)
class CounterSnapshot:
    """The counts at one moment; `writes` totals the verbs that change objects."""

    counts: Mapping[Verb, int]

    def __getitem__(self, verb: Verb | str) -> int:
        return self.counts.get(Verb(verb), 0)

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.counts.items() if verb in WRITES)

    def to_json(self) -> dict[str, int]:
        result = {str(verb): self.counts.get(verb, 0) for verb in Verb}
        result["writes"] = self.writes
        return result

    def __repr__(self) -> str:
        shown = ", ".join(f"{verb}={self.counts[verb]}" for verb in Verb if self.counts.get(verb))
        return f"CounterSnapshot({shown or 'nothing'})"


class Counters:
    """Mutable counts for one cluster."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[Verb, int] = {}

    def count(self, verb: Verb) -> None:
        self._counts[verb] = self._counts.get(verb, 0) + 1

    def snapshot(self) -> CounterSnapshot:
        return CounterSnapshot(MappingProxyType(dict(self._counts)))

    def reset(self) -> None:
        self._counts.clear()

    def __repr__(self) -> str:
        return f"Counters({sum(self._counts.values())} requests)"
