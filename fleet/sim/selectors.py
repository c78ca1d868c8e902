"""Label and field selectors, parsed once per request and matched per object.

The grammar is the apiserver's: requirements separated by commas, each one of
`key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`,
`key notin (a,b)`, `key>1`, `key<1`. `!=` and `notin` also match objects that lack the
key, as they do in Kubernetes. Field selectors support `metadata.name` and
`metadata.namespace` (with `=`, `==`, `!=`); any other field is the apiserver's
`400 field label not supported`.

Parsing errors are `ApiError`s (400), so a request with a bad selector gets the same
answer it would get from a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from fleet.sim import statuses, validating


class Operator(StrEnum):
    EXISTS = "exists"
    NOT_EXISTS = "!"
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    GREATER = "gt"
    LESS = "lt"


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        match self.operator:
            case Operator.EXISTS:
                return value is not None
            case Operator.NOT_EXISTS:
                return value is None
            case Operator.EQUALS | Operator.IN:
                return value is not None and value in self.values
            case Operator.NOT_EQUALS | Operator.NOT_IN:
                return value is None or value not in self.values
            case Operator.GREATER | Operator.LESS:
                return _compare(value, self.operator, next(iter(self.values)))


def _compare(value: str | None, operator: Operator, bound: str) -> bool:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return False
    if number is None:
        return False
    return number > int(bound) if operator is Operator.GREATER else number < int(bound)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(f"{r.key} {r.operator} {sorted(r.values)}" for r in self.requirements)


EVERYTHING = LabelSelector()

_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|<|>|[^\s!=(),<>]+)")


def _tokens(text: str) -> list[str]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # pragma: no cover - the pattern matches any non-space
            raise _error(text, "unexpected character")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _error(text: str, why: str) -> statuses.ApiError:
    return statuses.bad_request(f"unable to parse requirement: {why} in label selector {text!r}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _error(self.text, "unexpected end")
        self.position += 1
        return token

    def parse(self) -> LabelSelector:
        requirements = [self.requirement()]
        while self.peek() is not None:
            if self.take() != ",":
                raise _error(self.text, "expected ','")
            requirements.append(self.requirement())
        return LabelSelector(tuple(requirements))

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            return Requirement(self.key(), Operator.NOT_EXISTS)
        key = self.key()
        operator = self.peek()
        if operator in (None, ","):
            return Requirement(key, Operator.EXISTS)
        self.take()
        if operator in ("=", "=="):
            return Requirement(key, Operator.EQUALS, frozenset({self.value()}))
        if operator == "!=":
            return Requirement(key, Operator.NOT_EQUALS, frozenset({self.value()}))
        if operator in ("in", "notin"):
            values = self.value_set()
            return Requirement(key, Operator.IN if operator == "in" else Operator.NOT_IN, values)
        if operator in (">", "<"):
            bound = self.take()
            if not re.fullmatch(r"-?\d+", bound):
                raise _error(self.text, f"for '{operator}', value must be an integer")
            which = Operator.GREATER if operator == ">" else Operator.LESS
            return Requirement(key, which, frozenset({bound}))
        raise _error(self.text, f"unknown operator {operator!r}")

    def key(self) -> str:
        key = self.take()
        if key in ("!", "=", "==", "!=", "(", ")", ",", "<", ">"):
            raise _error(self.text, f"expected a key, found {key!r}")
        problems = validating.label_key_errors(key)
        if problems:
            raise _error(self.text, f"key {key!r}: {problems[0]}")
        return key

    def value(self) -> str:
        token = self.peek()
        if token is None or token in (",", ")"):
            return ""
        value = self.take()
        problems = validating.label_value_errors(value)
        if problems or value in ("!", "=", "==", "!=", "(", "<", ">"):
            raise _error(self.text, f"value {value!r}: {problems[0] if problems else 'invalid'}")
        return value

    def value_set(self) -> frozenset[str]:
        if self.take() != "(":
            raise _error(self.text, "expected '('")
        values = set()
        while True:
            values.add(self.value())
            separator = self.take()
            if separator == ")":
                return frozenset(values)
            if separator != ",":
                raise _error(self.text, "expected ',' or ')'")


def parse_labels(text: str | None) -> LabelSelector:
    if not text or not text.strip():
        return EVERYTHING
    return _Parser(text).parse()


FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """Terms on metadata.name and metadata.namespace: (field, value, equal?)."""

    terms: tuple[tuple[str, str, bool], ...] = ()

    def matches(self, namespace: str, name: str) -> bool:
        for field, value, equal in self.terms:
            actual = name if field == "metadata.name" else namespace
            if (actual == value) != equal:
                return False
        return True


NO_FIELDS = FieldSelector()


def parse_fields(text: str | None) -> FieldSelector:
    if not text or not text.strip():
        return NO_FIELDS
    terms = []
    for term in text.split(","):
        match = re.fullmatch(r"\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*", term)
        if match is None:
            raise statuses.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, operator, value = match.groups()
        if field not in FIELDS:
            raise statuses.bad_request(f"field label not supported: {field}")
        terms.append((field, value, operator != "!="))
    return FieldSelector(tuple(terms))
