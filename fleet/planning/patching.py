"""Patches from `fleet.yaml` targets: RFC 7386 merge patches and RFC 6902 JSON patches.

Patches are how a target changes what parameters cannot: numbers (`replicas`), whole
blocks (resources, affinity), or removing a field. Both standard forms are offered
because each is better at one thing: a merge patch reads like the object it changes, and
a JSON patch can change one element of a list. Each patch is aimed by kind and name
(group and namespace optional), and a patch that matches no object is a problem: a
renamed Deployment must not leave production silently unpatched.

Failures are raised here as `PatchFailed` and turned into problems by rendering. Their
messages name the operation and JSON pointer, never a value (it may be a Secret's).
"""

from __future__ import annotations

from typing import Any

from fleet.planning.specs import PatchTarget
from fleet.planning.substituting import copy_json
from fleet.structs.objects import ObjectKey


class PatchFailed(Exception):  # noqa: N818 -- it reads as what happened, like `CycleError`
    """A patch could not be applied; the message says which operation and where."""


def aims_at(target: PatchTarget, key: ObjectKey) -> bool:
    """Whether a patch aimed at ``target`` applies to the object ``key``."""
    return (
        target.kind == key.kind
        and target.name == key.name
        and target.group in (None, key.group)
        and target.namespace in (None, key.namespace)
    )


def merge_patch(document: Any, patch: Any) -> Any:
    """RFC 7386: ``patch`` merged into ``document`` (which is changed and returned)."""
    if not isinstance(patch, dict):
        return copy_json(patch)
    if not isinstance(document, dict):
        document = {}
    for key, value in patch.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = merge_patch(document.get(key), value)
    return document


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902: ``operations`` applied in order to ``document`` (changed and returned)."""
    for number, operation in enumerate(operations, start=1):
        op, path = operation["op"], operation["path"]
        try:
            document = _apply(document, op, _pointer(path), operation)
        except PatchFailed as failure:
            raise PatchFailed(f"operation {number} ({op} {path}): {failure}") from None
    return document


def _apply(document: Any, op: str, path: list[str], operation: dict[str, Any]) -> Any:
    if op == "test":
        if not _equal(_get(document, path), operation["value"]):
            raise PatchFailed("the value differs")
        return document
    if op == "remove":
        return _remove(document, path)
    if op == "replace":
        _get(document, path)
        document = _remove(document, path) if path else document
        return _add(document, path, copy_json(operation["value"]))
    if op == "add":
        return _add(document, path, copy_json(operation["value"]))
    source = _pointer(operation["from"])
    value = copy_json(_get(document, source))
    if op == "move":
        if path[: len(source)] == source and path != source:
            raise PatchFailed("cannot move a value into itself")
        document = _remove(document, source)
    return _add(document, path, value)


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchFailed(f"{text!r} is not a JSON pointer")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _index(container: list[Any], step: str, *, end_allowed: bool) -> int:
    if end_allowed and step == "-":
        return len(container)
    if not step.isdigit() or (step.startswith("0") and step != "0"):
        raise PatchFailed(f"{step!r} is not a list index")
    index = int(step)
    if index > len(container) or (index == len(container) and not end_allowed):
        raise PatchFailed(f"index {index} is out of range")
    return index


def _get(document: Any, path: list[str]) -> Any:
    for step in path:
        if isinstance(document, dict) and step in document:
            document = document[step]
        elif isinstance(document, list):
            document = document[_index(document, step, end_allowed=False)]
        else:
            raise PatchFailed("no value at this path")
    return document


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    step = path[-1]
    if isinstance(parent, dict):
        parent[step] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, step, end_allowed=True), value)
    else:
        raise PatchFailed("the parent is not an object or a list")
    return document


def _remove(document: Any, path: list[str]) -> Any:
    if not path:
        raise PatchFailed("cannot remove the whole object")
    parent = _get(document, path[:-1])
    step = path[-1]
    if isinstance(parent, dict) and step in parent:
        del parent[step]
    elif isinstance(parent, list):
        del parent[_index(parent, step, end_allowed=False)]
    else:
        raise PatchFailed("no value at this path")
    return document


def _equal(left: Any, right: Any) -> bool:
    # JSON equality: unlike Python's, true is not 1, and 1 is 1.0.
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_equal, left, right))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right
