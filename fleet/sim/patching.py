"""The three patch formats of PATCH requests other than server-side apply.

- JSON merge patch (RFC 7386, `application/merge-patch+json`): maps merge, `null`
  deletes, anything else (lists included) replaces.
- JSON patch (RFC 6902, `application/json-patch+json`): add, remove, replace, move,
  copy and test operations on JSON pointers.
- Strategic merge patch (`application/strategic-merge-patch+json`, what `kubectl edit`,
  `label` and `scale` of built-ins send): a merge patch that merges lists of objects by
  their merge key (containers by `name`) and understands the directives kubectl
  generates: `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>`
  and `$deleteFromPrimitiveList/<list>`. Which lists have a merge key is a question
  for the caller (`merge_key(path)`), so this module stays free of kind tables.

All functions are pure: they return a new document and never change their inputs.
Failures to apply raise `PatchError`; the server answers those with 422.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

MergeKey = Callable[[tuple[str, ...]], str | None]
"""Given the path of a list (field names from the root), its merge key, or None."""


class PatchError(ValueError):
    """A patch that is well-formed but cannot be applied to this document."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the result of applying `patch` to `target`."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- JSON patch --------------------------------------------------------------------------


def _pointer(path: object) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list[Any], part: str, *, adding: bool) -> int:
    if adding and part == "-":
        return len(container)
    if not part.isdigit() or (part != "0" and part.startswith("0")):
        raise PatchError(f"invalid array index {part!r}")
    index = int(part)
    limit = len(container) if adding else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(document: Any, parts: list[str]) -> Any:
    node = document
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[_index(node, part, adding=False)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise _missing(parts)
    return node


def _missing(parts: list[str]) -> PatchError:
    return PatchError(f"doc is missing path: /{'/'.join(parts)}")


def _get(document: Any, parts: list[str]) -> Any:
    if not parts:
        return document
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, list):
        return parent[_index(parent, last, adding=False)]
    if not isinstance(parent, dict) or last not in parent:
        raise _missing(parts)
    return parent[last]


def _add(document: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise _missing(parts)
    return document


def _remove(document: Any, parts: list[str]) -> Any:
    if not parts:
        raise PatchError("cannot remove the whole document")
    _get(document, parts)
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, list):
        del parent[_index(parent, last, adding=False)]
    else:
        del parent[last]
    return document


def _replace(document: Any, parts: list[str], operation: dict[str, Any]) -> Any:
    _get(document, parts)
    value = copy.deepcopy(operation["value"])
    return _add(_remove(document, parts), parts, value) if parts else value


def _move_or_copy(document: Any, parts: list[str], operation: dict[str, Any]) -> Any:
    source = _pointer(operation.get("from"))
    moved = copy.deepcopy(_get(document, source))
    if operation["op"] == "move":
        if parts[: len(source)] == source and len(parts) > len(source):
            raise PatchError("cannot move a value into one of its children")
        document = _remove(document, source)
    return _add(document, parts, moved)


def _test(document: Any, parts: list[str], operation: dict[str, Any]) -> Any:
    if _get(document, parts) != operation["value"]:
        raise PatchError(f"testing value /{'/'.join(parts)} failed")
    return document


_OPERATIONS: dict[str, Callable[[Any, list[str], dict[str, Any]], Any]] = {
    "add": lambda document, parts, op: _add(document, parts, copy.deepcopy(op["value"])),
    "remove": lambda document, parts, op: _remove(document, parts),
    "replace": _replace,
    "move": _move_or_copy,
    "copy": _move_or_copy,
    "test": _test,
}


def json_patch(document: Any, operations: Any) -> Any:
    """RFC 6902: apply `operations` (a list) in order; all or nothing."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    result = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
            raise PatchError(f"invalid operation {operation!r}")
        apply = _OPERATIONS.get(operation["op"])
        if apply is None:
            raise PatchError(f"unexpected operation {operation['op']!r}")
        if operation["op"] in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"{operation['op']} operation does not have a value")
        result = apply(result, _pointer(operation.get("path")), operation)
    return result


# -- strategic merge patch ---------------------------------------------------------------

_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target: Any, patch: Any, *, merge_key: MergeKey) -> Any:
    """Apply a strategic merge patch; lists without a merge key are replaced."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be an object")
    return _merge_map(target if isinstance(target, dict) else {}, patch, (), merge_key)


def _merge_map(
    target: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...], merge_key: MergeKey
) -> dict[str, Any]:
    directive = patch.get("$patch")
    if directive == "replace":
        replaced: dict[str, Any] = _strip(patch)
        return replaced
    result = dict(target)
    orders = {}
    for key, value in patch.items():
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = value
        elif key.startswith(_DELETE_FROM):
            _delete_from(result, key[len(_DELETE_FROM) :], value)
        elif key in ("$patch", "$retainKeys"):
            continue
        elif value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = _merge_map(
                current if isinstance(current, dict) else {}, value, (*path, key), merge_key
            )
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, (*path, key), merge_key)
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = _ordered(result[field], order, merge_key((*path, field)))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _delete_from(result: dict[str, Any], field: str, values: Any) -> None:
    if isinstance(result.get(field), list) and isinstance(values, list):
        result[field] = [v for v in result[field] if v not in values]


def _merge_list(
    current: Any, patch: list[Any], path: tuple[str, ...], merge_key: MergeKey
) -> list[Any]:
    key = merge_key(path)
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip(item) for item in patch if not _is_directive(item)]
    if key is None or not isinstance(current, list):
        return [_strip(item) if isinstance(item, dict) else item for item in patch]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(item)
            continue
        position = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(_strip(item))
        else:
            result[position] = _merge_map(result[position], item, path, merge_key)
    return result


def _ordered(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]
    rank = {repr(w): i for i, w in enumerate(wanted)}
    return sorted(items, key=lambda item: rank.get(repr(identity(item)), len(rank)))


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _strip(value: Any) -> Any:
    """Drop `$` directives from a subtree that is taken as it is."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
