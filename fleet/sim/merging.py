"""Merging an applied configuration into an object, and pruning fields out of one.

Server-side apply needs three things from one pass over the applied configuration:
the merged object, the fields the configuration sets (the applier's new set), and
which of those fields change value (the ones that can conflict with another manager).
:func:`walk` computes all three at once. An update needs the same two sets for the new
object against the old one, so it calls the same walk and ignores the merged result:
one piece of code decides, for apply and for update alike, what a field is and when it
changed.

The merged object is built by copying only what changes. Subtrees that do not change
are the live object's own; new subtrees are the configuration's own. Nothing is deep
copied, so the cost of an apply follows the size of the configuration, not of the
object -- and an apply that changes nothing returns the live object itself, which is how
the caller can tell that there is nothing to write. The price is that objects share
structure: callers must treat live objects, configurations and results as immutable.

How values merge follows structured-merge-diff, the API server's library: maps merge
key by key; lists listed in :mod:`fleet.sim.listtypes` merge item by item (keyed
items keep the live order and new ones are appended; set values likewise); every other
list, the few atomic maps listed there, and every scalar, are replaced whole. An empty
map in the configuration is owned as a leaf (an empty associative list owns nothing),
and a value whose shape changes (a map where a string was) counts as changed.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from fleet.sim import fieldsets, listtypes
from fleet.sim.fieldsets import Path


class InvalidObjectError(ValueError):
    """The applied configuration cannot be merged: the API server answers 422 Invalid."""


class Marker(enum.Enum):
    """Stand-ins that are not JSON values.

    A plain Enum, not a StrEnum: a marker must never compare equal to a string that an
    object holds.
    """

    MISSING = "missing"
    """A value that is absent, where ``None`` is JSON ``null``."""
    GONE = "gone"
    """What pruning returns for a map or list that it leaves empty."""


MISSING: Final = Marker.MISSING
_GONE: Final = Marker.GONE

_WHOLE = "."
"""Marks, in the trie of paths to prune, a node that goes with everything below it."""


@dataclass(frozen=True, slots=True)
class Walk:
    """What one pass over a value and the base it merges into found."""

    merged: Any
    """The base with the value merged in; the base itself when nothing changed."""
    paths: fieldsets.FieldSet
    """Every field the value sets."""
    changed: fieldsets.FieldSet
    """The fields whose value the merge adds or changes, and fields whose shape it changes."""
    reshaped: bool
    """Whether the merge replaced a map or list by a value of another shape, which
    makes fields below it disappear."""


def walk(value: Mapping[str, Any], base: Any, *, table: listtypes.Table, strict: bool) -> Walk:
    """Merge ``value`` (an object or a part of one) into ``base`` (or MISSING) and say what it sets.

    With ``strict``, an associative list whose item lacks a key field, is not a map, or
    repeats another item's key raises InvalidObjectError (as an apply does); without, such
    items are left out of the field sets (as an update does).
    """
    walker = _Walker(table=table, strict=strict)
    merged = walker.map(value, base, (), "") if value else (base if base is not MISSING else {})
    return Walk(
        merged=merged,
        paths=frozenset(walker.paths),
        changed=frozenset(walker.changed),
        reshaped=walker.reshaped,
    )


def fields_of(obj: Mapping[str, Any], *, table: listtypes.Table) -> fieldsets.FieldSet:
    """Every field that ``obj`` has, in the form managers own them."""
    return walk(obj, MISSING, table=table, strict=False).paths


class _Walker:
    __slots__ = ("atomic_maps", "changed", "lists", "paths", "reshaped", "strict")

    def __init__(self, *, table: listtypes.Table, strict: bool) -> None:
        self.lists = table.lists
        self.atomic_maps = table.atomic_maps
        self.strict = strict
        self.paths: list[Path] = []
        self.changed: list[Path] = []
        self.reshaped = False

    def __repr__(self) -> str:
        return f"_Walker({len(self.paths)} paths, {len(self.changed)} changed)"

    def map(self, value: Mapping[str, Any], base: Any, path: Path, here: str) -> Any:
        """``here`` is this map's field name: list types are looked up under it."""
        base_map = base if isinstance(base, dict) else None
        if base_map is None and base is not MISSING:
            self._reshape(path)
        if not value:
            self.paths.append(path)
            if base_map is not None:
                return base_map
            self.changed.append(path)
            return value
        out: dict[str, Any] | None = None
        lists, atomic_maps = self.lists, self.atomic_maps
        for name, child in value.items():
            try:
                child_path = (*path, "f:" + name)
            except TypeError:  # a YAML key such as 1 or true
                self._invalid(path, f"field name {name!r} is not a string")
                continue
            before = base_map.get(name, MISSING) if base_map is not None else MISSING
            if isinstance(child, dict) and (here, name) not in atomic_maps:
                merged = self.map(child, before, child_path, name)
            elif isinstance(child, list) and (list_type := lists.get((here, name))) is not None:
                merged = self._list(child, before, child_path, name, list_type)
            else:
                # A leaf: a scalar, an atomic list or map. Inline, as most fields are leaves.
                self.paths.append(child_path)
                if type(before) is type(child) and before == child:
                    continue
                self.changed.append(child_path)
                if isinstance(before, dict | list) and type(before) is not type(child):
                    self.reshaped = True
                merged = child
            if merged is not before:
                if out is None:
                    out = dict(base_map) if base_map is not None else {}
                out[name] = merged
        return out if out is not None else base_map

    def _reshape(self, path: Path) -> None:
        self.changed.append(path)
        self.reshaped = True

    def _list(
        self, items: list[Any], before: Any, path: Path, name: str, list_type: listtypes.ListType
    ) -> Any:
        base_list = before if isinstance(before, list) else None
        if base_list is None and before is not MISSING:
            self._reshape(path)
        if list_type.is_set:
            return self._set(items, base_list, path)
        index: dict[str, int] = {}
        for position, item in enumerate(base_list or ()):
            element = _item_element(item, list_type)
            if element is not None:
                index.setdefault(element, position)
        out: list[Any] | None = None
        seen: set[str] = set()
        for position, item in enumerate(items):
            element = self._element(item, position, path, list_type, seen)
            if element is None:
                continue
            item_path = (*path, element)
            self.paths.append(item_path)
            at = index.get(element)
            prior = base_list[at] if base_list is not None and at is not None else MISSING
            if prior is MISSING:
                self.changed.append(item_path)
            merged = self.map(item, prior, item_path, name)
            if merged is not prior:
                if out is None:
                    out = list(base_list) if base_list is not None else []
                if at is None:
                    out.append(merged)
                else:
                    out[at] = merged
        return _first_present(out, base_list, items)

    def _element(
        self,
        item: Any,
        position: int,
        path: Path,
        list_type: listtypes.ListType,
        seen: set[str],
    ) -> str | None:
        """The item's element, or None (InvalidObjectError when strict) if it has none."""
        element = None
        if not isinstance(item, dict):
            problem = "associative list with keys has an element that is not a map"
        else:
            try:
                element = fieldsets.key(item, list_type)
            except KeyError as missing:
                problem = (
                    "associative list with keys has an element "
                    f'that omits key field "{missing.args[0]}"'
                )
            except TypeError as error:
                problem = str(error)
        if element is None:
            self._invalid(path, f"element {position}: {problem}")
            return None
        return self._first_time(element, path, seen)

    def _first_time(self, element: str, path: Path, seen: set[str]) -> str | None:
        if element in seen:
            self._invalid(path, f"duplicate entries for key {fieldsets.describe((element,))}")
            return None
        seen.add(element)
        return element

    def _invalid(self, path: Path, problem: str) -> None:
        if self.strict:
            raise InvalidObjectError(f"{fieldsets.describe(path)}: {problem}")

    def _set(self, items: list[Any], base_list: list[Any] | None, path: Path) -> Any:
        present = {_item_element(item, listtypes.SET) for item in base_list or ()}
        out: list[Any] | None = None
        seen: set[str] = set()
        for position, item in enumerate(items):
            element = _item_element(item, listtypes.SET)
            if element is None:
                self._invalid(path, f"element {position}: a set holds only scalars")
                continue
            if self._first_time(element, path, seen) is None:
                continue
            item_path = (*path, element)
            self.paths.append(item_path)
            if element not in present:
                self.changed.append(item_path)
                if out is None:
                    out = list(base_list) if base_list is not None else []
                out.append(item)
        return _first_present(out, base_list, items)


def _first_present(
    out: list[Any] | None, base_list: list[Any] | None, items: list[Any]
) -> list[Any]:
    if out is not None:
        return out
    return base_list if base_list is not None else items


def _item_element(item: Any, list_type: listtypes.ListType) -> str | None:
    """The element of a list item, or None for an item that cannot have one."""
    try:
        if list_type.is_set:
            return None if isinstance(item, dict | list) else fieldsets.value(item)
        return fieldsets.key(item, list_type) if isinstance(item, dict) else None
    except (KeyError, TypeError):
        return None


def prune(
    obj: Mapping[str, Any], remove: Collection[Path], *, table: listtypes.Table
) -> dict[str, Any]:
    """``obj`` without the fields at ``remove``, each with everything below it.

    A map or list that this leaves empty is removed too, as the API server leaves no
    empty ``labels: {}`` behind when the last label a manager applied goes. Only what
    changes is copied.
    """
    trie: dict[str, Any] = {}
    for path in remove:
        node = trie
        for element in path:
            node = node.setdefault(element, {})
        node[_WHOLE] = True
    pruned = _prune_map(obj, trie, "", table)
    return {} if pruned is _GONE else pruned


def _prune_map(
    node: Mapping[str, Any], trie: dict[str, Any], here: str, table: listtypes.Table
) -> Any:
    out = dict(node)
    for element, below in trie.items():
        name = element[2:]
        if not element.startswith("f:") or name not in out:
            continue
        if _WHOLE in below:
            del out[name]
            continue
        child = out[name]
        list_type = table.lists.get((here, name)) if isinstance(child, list) else None
        if isinstance(child, dict):
            pruned = _prune_map(child, below, name, table)
        elif list_type is not None:
            pruned = _prune_list(child, below, name, list_type, table)
        else:
            continue
        if pruned is _GONE:
            del out[name]
        else:
            out[name] = pruned
    return out if out else _GONE


def _prune_list(
    items: list[Any],
    trie: dict[str, Any],
    name: str,
    list_type: listtypes.ListType,
    table: listtypes.Table,
) -> Any:
    out: list[Any] = []
    for item in items:
        element = _item_element(item, list_type)
        below = trie.get(element) if element is not None else None
        if below is None:
            out.append(item)
        elif _WHOLE in below:
            continue
        elif isinstance(item, dict):
            pruned = _prune_map(item, below, name, table)
            if pruned is not _GONE:
                out.append(pruned)
        else:
            out.append(item)
    return out if out else _GONE
