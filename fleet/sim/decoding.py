"""Request bodies: JSON and YAML into plain values, with the guards a server needs.

Whatever a client sends must end in a value or a 400, never in a crash or an
exhausted process, so decoding refuses what would hurt later: YAML aliases (a
"billion laughs" document is small as YAML and huge as JSON), nesting deeper than
`MAX_DEPTH` (every later step recurses), non-finite numbers (JSON cannot carry
them). YAML is read the way the apiserver reads it (sigs.k8s.io/yaml converts YAML
to JSON): timestamps stay strings and keys become strings. Duplicate keys in JSON
are reported, because `fieldValidation=Strict` must reject them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 100


class DecodeError(ValueError):
    """The body is not a document the server can read; the answer is 400."""


@dataclass(frozen=True, slots=True)
class Decoded:
    value: Any
    duplicates: tuple[str, ...] = ()
    """Keys that appeared twice in one JSON object (the later one wins)."""


def decode_json(raw: bytes, *, find_duplicates: bool = True) -> Decoded:
    """JSON into values; with `find_duplicates`, also the keys given twice (slower)."""
    if not find_duplicates:
        try:
            value = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise DecodeError(f"error decoding JSON: {_first_line(error)}") from None
        _check(value)
        return Decoded(value)
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        value = json.loads(raw, object_pairs_hook=pairs, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise DecodeError(f"error decoding JSON: {_first_line(error)}") from None
    _check(value)
    return Decoded(value, tuple(duplicates))


def _no_constant(name: str) -> None:
    raise ValueError(f"invalid number {name}")


class _Loader(yaml.CSafeLoader):
    """A safe loader that, like sigs.k8s.io/yaml, leaves timestamps as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def decode_yaml(raw: bytes) -> Any:
    """One YAML (or JSON) document as JSON values."""
    stripped = raw.lstrip()
    if stripped.startswith(b"{"):
        try:
            return decode_json(raw, find_duplicates=False).value
        except DecodeError:
            pass  # YAML flow mappings also start with "{"; let the YAML parser say why
    try:
        value = yaml.load(raw, Loader=_Loader)  # noqa: S506 - a safe loader without timestamps
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as error:
        raise DecodeError(f"error decoding YAML: {_first_line(error)}") from None
    seen: set[int] = set()
    return _jsonable(value, seen, 0)


def _jsonable(value: Any, seen: set[int], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise DecodeError(f"error decoding YAML: nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, (dict, list)):
        if id(value) in seen:
            raise DecodeError("error decoding YAML: aliases are not supported")
        seen.add(id(value))
    if isinstance(value, dict):
        return {_key(k): _jsonable(v, seen, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v, seen, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise DecodeError(f"error decoding YAML: {value} is not a JSON number")
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise DecodeError(f"error decoding YAML: {type(value).__name__} values are not supported")


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (dict, list)):
        raise DecodeError("error decoding YAML: keys must be scalars")
    return str(key)


def _check(value: Any) -> None:
    """Reject nesting deeper than MAX_DEPTH, without recursing."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DecodeError(f"error decoding JSON: nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
