"""Query strings, read strictly: each parameter checked, every error naming the parameter.

A filter that is silently ignored answers a different question than the one asked:
``/syncs?clustr=eu-1`` would list every cluster's syncs, and ``?since=yesterday`` every
sync ever. So an endpoint declares the parameters it takes and an unknown or repeated
one is a 400, as is a value that does not parse. Values are bounded (length, no control
characters -- PostgreSQL text cannot even hold a NUL) before they reach a store, so no
query string can turn into a 500 further down. Every error is a `UserError` whose
``where`` is the parameter's name, which the API answers as 400 ``{"error", "message"}``.

Label selectors use Kubernetes' syntax (``env=prod,region in (eu,us),!canary``) and
become a `fleet.planning.specs.Selector`, so ``/clusters?selector=`` matches exactly as a
target in ``fleet.yaml`` does.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from multidict import MultiMapping

from fleet.planning.specs import Operator, Requirement, Selector
from fleet.structs import errors
from fleet.structs.objects import Revision

E = TypeVar("E", bound=StrEnum)

NAME_LENGTH = 253
"""Longest name a filter takes by default (a Kubernetes object name's limit)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_LABEL_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_SET_TERM = re.compile(r"(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)")


class Query:
    """The query string of one request, for an endpoint that takes ``known`` parameters."""

    def __init__(self, query: MultiMapping[str], *, known: Collection[str]) -> None:
        for name in query:
            if name not in known:
                raise errors.UserError(
                    f"unknown parameter; this endpoint takes {', '.join(sorted(known))}",
                    where=_shown_name(name),
                )
            if len(query.getall(name)) > 1:
                raise errors.UserError("given more than once", where=name)
        self._query = query

    def __repr__(self) -> str:
        return f"<Query {sorted(self._query)}>"

    def text(self, name: str, *, max_length: int = NAME_LENGTH) -> str | None:
        """A plain value: at most ``max_length`` characters, no control characters."""
        value = self._query.get(name)
        if value is None:
            return None
        if not value:
            raise errors.UserError("is empty; leave it out to match everything", where=name)
        if len(value) > max_length:
            raise errors.UserError(f"is longer than {max_length} characters", where=name)
        if _CONTROL.search(value):
            raise errors.UserError("contains control characters", where=name)
        return value

    def choice(self, name: str, enum: type[E]) -> E | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(str(member) for member in enum)
            raise errors.UserError(f"must be one of {choices}; got {value!r}", where=name) from None

    def sha(self, name: str) -> Revision | None:
        """A full commit SHA (40 hex digits, or 64 for SHA-256 repositories)."""
        value = self.text(name)
        if value is None:
            return None
        if not _SHA.fullmatch(value.lower()):
            raise errors.UserError(
                f"must be a full commit SHA (40 hex digits); got {value[:80]!r}", where=name
            )
        return Revision(value.lower())

    def time(self, name: str) -> datetime | None:
        """An RFC 3339 time with a time zone (``2025-01-31T12:00:00Z``), as UTC."""
        value = self.text(name, max_length=64)
        if value is None:
            return None
        hint = "; a '+' in a URL reads as a space, write %2B or use Z" if " " in value else ""
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise errors.UserError(
                f"must be a time such as 2025-01-31T12:00:00Z; got {value!r}{hint}", where=name
            ) from None
        if moment.tzinfo is None:
            raise errors.UserError(
                f"{value!r} has no time zone; add one, e.g. 'Z' for UTC", where=name
            )
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise errors.UserError(f"{value!r} is out of range", where=name) from None

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """``since`` and ``until``; since must come before until."""
        since, until = self.time("since"), self.time("until")
        if since is not None and until is not None and since >= until:
            raise errors.UserError(
                "must be before until (the range is since <= t < until)", where="since"
            )
        return since, until

    def limit(self, *, default: int, maximum: int) -> int:
        value = self.text("limit", max_length=16)
        if value is None:
            return default
        if not value.isdecimal() or not 1 <= int(value) <= maximum:
            raise errors.UserError(
                f"must be an integer from 1 to {maximum}; got {value!r}", where="limit"
            )
        return int(value)

    def selector(self, name: str) -> Selector | None:
        """A Kubernetes label selector: ``k=v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``,
        ``k``, ``!k``, joined by commas (all must hold)."""
        value = self.text(name, max_length=4096)
        if value is None:
            return None
        return Selector(tuple(_requirement(term.strip(), name) for term in _terms(value)))


def _terms(text: str) -> list[str]:
    """Split at the commas that are not inside parentheses."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _requirement(term: str, where: str) -> Requirement:
    found = _SET_TERM.fullmatch(term)
    if found:
        values = frozenset(value.strip() for value in found["values"].split(","))
        operator = Operator.IN if found["op"] == "in" else Operator.NOT_IN
        return Requirement(_key(found["key"], where), operator, _values(values, where))
    for symbol, operator in (("!=", Operator.NOT_IN), ("==", Operator.IN), ("=", Operator.IN)):
        key, equals, value = term.partition(symbol)
        if equals:
            return Requirement(_key(key.strip(), where), operator, _values({value.strip()}, where))
    if term.startswith("!"):
        return Requirement(_key(term[1:].strip(), where), Operator.DOES_NOT_EXIST)
    return Requirement(_key(term, where), Operator.EXISTS)


def _key(key: str, where: str) -> str:
    if len(key) > 316 or not _LABEL_KEY.fullmatch(key):
        raise errors.UserError(
            f"{key[:80]!r} is not a label key; write k=v, k!=v, k in (a,b), k notin (a,b),"
            " k or !k, joined by commas",
            where=where,
        )
    return key


def _values(values: Collection[str], where: str) -> frozenset[str]:
    for value in values:
        if not _LABEL_VALUE.fullmatch(value):
            raise errors.UserError(f"{value[:80]!r} is not a label value", where=where)
    return frozenset(values)


def _shown_name(name: str) -> str:
    # The name is the user's; it is shown, but bounded and without control characters.
    return repr(_CONTROL.sub("?", name[:64]))
