"""Sets of fields, as `metadata.managedFields` records them (the FieldsV1 format).

A field is a path from the object's root, one element per step, and each element is
kept exactly as FieldsV1 spells it: ``f:spec`` for a map field, ``k:{"name":"web"}`` for
the item of an associative list whose keys are those, ``v:"example.com/x"`` for a value
of a set, ``i:3`` for an index. A path is a tuple of those strings, and a set of fields
is a frozenset of paths. That choice is what makes ownership cheap: the union,
difference and intersection that server-side apply does for every manager on every
request are Python's own set operations, done in C, and reading or writing FieldsV1 is
one walk of a nested dict with no translation of the elements in between.

A path is a member of a set when the field itself is owned: a leaf (``"f:image": {}``)
or an item that also has owned children (``".": {}`` inside it). Paths that merely lead
to members are not members. :func:`describe` prints a path the way the API server does
in a conflict (``.spec.template.spec.containers[name="web"].image``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring
from typing import Any, TypeAlias

from fleet.sim import listtypes

Path: TypeAlias = tuple[str, ...]
"""A field, one serialized FieldsV1 element per step from the root."""

FieldSet: TypeAlias = frozenset[Path]
"""The fields one manager owns."""

_MEMBER = "."
_KIND_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


class MalformedFieldsError(ValueError):
    """A FieldsV1 value (or a managedFields entry) that is not well formed."""


def _dumps(value: Any) -> str:
    # Compact and unescaped, as the API server's encoder writes keys and values.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def field(name: str) -> str:
    """The element of map field ``name``."""
    return "f:" + name


def key(item: Mapping[str, Any], list_type: listtypes.ListType) -> str:
    """The element of an associative-list ``item``; KeyError names a missing key field."""
    defaults = list_type.defaults
    parts: list[str] = []
    for name in list_type.keys:  # sorted, as the element spells them
        if name in item:
            part = item[name]
        elif name in defaults:
            part = defaults[name]
        else:
            raise KeyError(name)
        parts.append(f'"{name}":{_scalar_json(part)}')
    return "k:{" + ",".join(parts) + "}"


def _scalar_json(part: Any) -> str:
    # Every apply computes the key of every item twice (its own and the live one), so
    # the common strings and integers skip the general encoder.
    kind = type(part)
    if kind is str:
        return encode_basestring(part)
    if kind is int:
        return str(part)
    return _dumps(part)


def value(item: Any) -> str:
    """The element of a set's ``item`` (a scalar)."""
    return "v:" + _dumps(item)


def parse(fields_v1: Any) -> FieldSet:
    """The set that a FieldsV1 value describes; MalformedFieldsError if it is not one.

    Element spellings are made canonical (keys sorted, compact JSON), so that a set sent
    by a client compares equal to the one the simulator computes. Elements of a kind this
    format does not know are dropped, as the API server drops them.
    """
    if not isinstance(fields_v1, dict):
        raise MalformedFieldsError("fieldsV1 must be an object")
    members: list[Path] = []
    _parse_into(fields_v1, (), members)
    return frozenset(members)


def _parse_into(node: dict[str, Any], prefix: Path, members: list[Path]) -> None:
    for raw, child in node.items():
        if raw == _MEMBER:
            continue
        if not isinstance(child, dict):
            raise MalformedFieldsError(f"{describe(prefix) or '.'}: {raw!r} must map to an object")
        # Map fields need no canonical form, and they are nearly every element.
        element = raw if raw.startswith("f:") else _canonical(raw)
        if element is None:
            continue
        path = (*prefix, element)
        if not child or _MEMBER in child:
            members.append(path)
        if len(child) > (_MEMBER in child):
            _parse_into(child, path, members)


@functools.lru_cache(maxsize=16384)
def _canonical(raw: str) -> str | None:
    kind, separator, body = raw[:1], raw[1:2], raw[2:]
    if separator != ":" or not kind:
        raise MalformedFieldsError(f"{raw!r} is not a field path element")
    if kind not in _KIND_ORDER:
        return None
    try:
        if kind == "i":
            return f"i:{int(body)}"
        decoded = json.loads(body)
    except ValueError as error:
        raise MalformedFieldsError(f"{raw!r} is not a field path element: {error}") from None
    if kind == "k" and not isinstance(decoded, dict):
        raise MalformedFieldsError(f"{raw!r}: the keys of an item must be an object")
    return f"{kind}:{_dumps(decoded)}"


def serialise(fields: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 value of ``fields``: a nested dict, its keys in the API server's order.

    Paths are visited in sorted order, so a node is created before anything below it and
    keys are inserted in order: "." first, then map fields, keyed items and set values
    (indices, which the simulator never writes, sort as text).
    """
    root: dict[str, Any] = {}
    for path in sorted(fields):
        node = root
        for element in path[:-1]:
            child = node.get(element)
            if child is None:
                child = node[element] = {}
            elif not child:
                # A member that turns out to have members below it.
                child[_MEMBER] = {}
            node = child
        node.setdefault(path[-1], {})
    return root


@functools.lru_cache(maxsize=16384)
def _element_order(element: str) -> tuple[int, Any]:
    # Map fields, then keyed items, then set values, then indices, as the API server
    # orders path elements; within a kind, by name, key, value or number.
    kind = _KIND_ORDER.get(element[:1], len(_KIND_ORDER))
    return (kind, int(element[2:]) if kind == _KIND_ORDER["i"] else element[2:])


def path_order(path: Path) -> tuple[tuple[int, Any], ...]:
    """A sort key that lists paths in the order the API server prints them."""
    return tuple(_element_order(element) for element in path)


def describe(path: Path) -> str:
    """``path`` as the API server prints it: ``.spec.containers[name="web"].image``."""
    return "".join(_describe_element(element) for element in path)


def _describe_element(element: str) -> str:
    kind, body = element[:1], element[2:]
    if kind == "f":
        return "." + body
    if kind == "i":
        return f"[{body}]"
    decoded = json.loads(body)
    if kind == "k":
        return "[" + ",".join(f"{name}={_scalar(decoded[name])}" for name in sorted(decoded)) + "]"
    return f"[={_scalar(decoded)}]"


def _scalar(item: Any) -> str:
    # Strings quoted, everything else bare: Go's %q and %v, as the API server prints.
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    return _dumps(item)
