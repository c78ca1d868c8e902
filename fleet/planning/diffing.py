"""Diffing: does a live object hold what fleet sets, and if not, where does it differ?

This is what makes an in-sync cluster cost no API call: before applying, the engine asks
`differences(desired, live)` of every object against the informer cache, and applies
only the objects that differ. Two questions make up the answer:

1. **Does the live object hold every value fleet sets?** Only fleet's fields count:
   the server adds defaults (`imagePullPolicy`, a Service's `clusterIP`), controllers
   add status, other managers add their own fields, and none of that is a difference.
   Values are compared as the server would store them: a quantity by its number
   (`cpu: 0.5` is `500m`), a list of named items by name rather than by position
   (unless `managedFields` show that the list is atomic, as RoleBinding subjects are).
2. **Does fleet still own a field it no longer sets?** When a field is removed from
   Git, server-side apply removes it from the object -- but only if fleet applies. The
   object's `managedFields` say which fields fleet's last apply set; one that the
   desired manifest no longer has is a difference too.

Drift is the same question asked of a watch event: which of fleet's fields did this
change move away from the desired value, and which field manager did it (the entry of
`managedFields` that changed). Paths are printed as people read them,
``spec.template.spec.containers[name=web].image``, and never carry a value: a Secret's
data must not leak through a drift report.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleet.planning import quantities
from fleet.structs.objects import Manifest


@dataclass(frozen=True, slots=True)
class Match:
    """A path step into a list of maps: the item whose fields have these values."""

    fields: tuple[tuple[str, Any], ...]

    def __str__(self) -> str:
        return ",".join(f"{key}={_scalar(value)}" for key, value in self.fields)


@dataclass(frozen=True, slots=True)
class Member:
    """A path step into a set (a list of scalars several managers add to): the member."""

    value: Any

    def __str__(self) -> str:
        return f"={_scalar(self.value)}"


Step = str | int | Match | Member
Path = tuple[Step, ...]

MERGE_KEYS: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("containerPort",),
    ("port",),
    ("mountPath",),
    ("devicePath",),
    ("ip",),
    ("topologyKey",),
)
"""Fields that identify an item of a list of maps, tried in this order: the merge keys
of Kubernetes' associative lists (containers and env by ``name``, ports by number,
volume mounts by path; ports also by protocol where the item states it). A list whose
items all have the first such field is compared item by item on it; any other list, and
any list that `managedFields` record as one field, is compared by position, as an atomic
list is."""

QUANTITY_PARENTS = frozenset(
    {"limits", "requests", "hard", "capacity", "default", "defaultRequest", "max", "min",
     "maxLimitRequestRatio", "overhead"}
)  # fmt: skip
"""Map keys under which values are resource quantities (`resources.limits.cpu`,
ResourceQuota `spec.hard`, LimitRange defaults). Only there are strings compared as
quantities: elsewhere `1k` and `1000` are different strings (in a ConfigMap, say)."""

QUANTITY_FIELDS = frozenset({"sizeLimit", "averageValue"})
"""Keys whose own value is a quantity: an `emptyDir`'s `sizeLimit`, an autoscaler
target's `averageValue`."""

_IGNORED_TOP = frozenset({"apiVersion", "kind", "status"})
_METADATA_COMPARED = ("labels", "annotations")


def differences(desired: Manifest, live: Manifest, *, field_manager: str) -> tuple[str, ...]:
    """Where ``live`` differs from ``desired`` on fleet's fields, as printed paths, sorted.

    Empty when the live object needs no apply.
    """
    paths = difference_paths(desired, live, field_manager)
    return tuple(sorted({format_path(path) for path in paths}))


def difference_paths(desired: Manifest, live: Manifest, field_manager: str) -> list[Path]:
    """`differences` as paths, for callers that look the paths up again."""
    wanted = _compared(desired)
    found = list(_uncovered(wanted, _compared(live), (), _atomic_lists(live)))
    found.extend(
        path
        for path in owned_paths(live, field_manager)
        if not _has(wanted, _written_as(path)) and not _ignored(path)
    )
    return found


def drifted(
    desired: Manifest, old: Manifest, new: Manifest, *, field_manager: str
) -> tuple[str, ...]:
    """Fields of ``desired`` that the change from ``old`` to ``new`` moved away from it.

    A change that leaves fleet's fields alone (a status update, another manager's own
    field) and a change towards the desired state (fleet's own apply) are not drift.
    """
    if _same_where_compared(old, new):
        # Most events are status updates: two equality checks instead of a diff.
        return ()
    changed = [
        path
        for path in difference_paths(desired, new, field_manager)
        if lookup(old, path) != lookup(new, path)
    ]
    return tuple(sorted({format_path(path) for path in changed}))


def _same_where_compared(old: Manifest, new: Manifest) -> bool:
    """Whether ``old`` and ``new`` agree on everything a diff of fleet's fields looks at."""
    for key in (old.keys() | new.keys()) - _IGNORED_TOP - {"metadata"}:
        if old.get(key) != new.get(key):
            return False
    before, after = old.get("metadata") or {}, new.get("metadata") or {}
    return all(before.get(key) == after.get(key) for key in _METADATA_COMPARED)


@dataclass(frozen=True, slots=True)
class Writer:
    """Who made a change, from the object's `managedFields`."""

    manager: str
    operation: str  # Apply or Update, as the API spells them
    subresource: str = ""


def writer(old: Manifest, new: Manifest, *, field_manager: str) -> Writer | None:
    """The field manager whose entry this change added or touched (other than fleet's).

    Every write updates its manager's entry (its ``time``, or its fields), so the entry
    that differs between the two versions names the writer. Entries for ``status`` are
    controllers reporting, not changes to the object.
    """
    before = {_entry_identity(entry): entry for entry in _entries(old)}
    touched = [
        entry
        for entry in _entries(new)
        if entry.get("manager") != field_manager
        and entry.get("subresource") != "status"
        and before.get(_entry_identity(entry)) != entry
    ]
    if not touched:
        return None
    latest = max(touched, key=lambda entry: str(entry.get("time") or ""))
    return Writer(
        manager=str(latest.get("manager") or "unknown"),
        operation=str(latest.get("operation") or "Update"),
        subresource=str(latest.get("subresource") or ""),
    )


def format_path(path: Path) -> str:
    """``spec.containers[name=web].image``; keys with dots or brackets are quoted."""
    text = ""
    for step in path:
        if isinstance(step, int | Match | Member):
            text += f"[{step}]"
        elif _PLAIN.issuperset(step) and step:
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step)}]"
    return text


def lookup(document: Any, path: Path) -> Any:
    """The value at ``path``, or None where the path leads nowhere."""
    for step in path:
        if isinstance(step, str):
            document = document.get(step) if isinstance(document, dict) else None
        elif isinstance(step, int):
            ok = isinstance(document, list) and 0 <= step < len(document)
            document = document[step] if ok else None
        elif isinstance(step, Member):
            ok = isinstance(document, list) and step.value in document
            document = step.value if ok else None
        else:
            document = _find(document, step) if isinstance(document, list) else None
        if document is None:
            return None
    return document


def owned_paths(live: Manifest, field_manager: str) -> Iterator[Path]:
    """The leaf paths that ``field_manager``'s apply entry says it owns in ``live``."""
    for entry in _entries(live):
        if (
            entry.get("manager") == field_manager
            and entry.get("operation") == "Apply"
            and not entry.get("subresource")
            and isinstance(entry.get("fieldsV1"), dict)
        ):
            yield from _leaves(entry["fieldsV1"], ())


class ListKind(enum.Enum):
    """How managedFields record a list, which is how the server merges it."""

    ATOMIC = "atomic"  # one field: replaced whole
    SET = "set"  # members (``v:``): each manager adds its own


def _atomic_lists(live: Manifest) -> Mapping[int, ListKind]:
    """The lists of ``live`` that a manager owns whole, by identity.

    managedFields record an atomic list as one field (``f:subjects: {}``) and the items
    of a keyed list as fields of their own (``k:{"name":"web"}``), so they tell the two
    apart where fleet's guess from merge keys cannot.
    """
    found: dict[int, ListKind] = {}
    for entry in _entries(live):
        if isinstance(entry.get("fieldsV1"), dict):
            _whole_lists(entry["fieldsV1"], live, found)
    return found


def _whole_lists(fields: Mapping[str, Any], document: Any, found: dict[int, ListKind]) -> None:
    # One walk of the fields and the object together; it stops at every leaf.
    for key, node in fields.items():
        if not node or not isinstance(node, dict):
            if key.startswith("f:") and isinstance(document, dict):
                value = document.get(key[2:])
                if isinstance(value, list):
                    found[id(value)] = ListKind.ATOMIC
            continue
        step = _fields_step(key)
        child = lookup(document, (step,)) if step is not None else None
        if isinstance(child, list) and any(name.startswith("v:") for name in node):
            found.setdefault(id(child), ListKind.SET)
        if isinstance(child, dict | list):
            _whole_lists(node, child, found)


# -- covering -----------------------------------------------------------------------------

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _compared(manifest: Mapping[str, Any]) -> dict[str, Any]:
    # Identity (kind, name, namespace) is how the object was found; status is not fleet's.
    compared = {key: value for key, value in manifest.items() if key not in _IGNORED_TOP}
    if manifest.get("kind") == "Secret" and isinstance(compared.get("stringData"), dict):
        # stringData is write-only: the server stores it in data, base64-encoded.
        data = dict(compared.get("data") or {})
        for key, value in compared.pop("stringData").items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()
        compared["data"] = data
    metadata = manifest.get("metadata")
    compared["metadata"] = (
        {key: metadata[key] for key in _METADATA_COMPARED if key in metadata}
        if isinstance(metadata, dict)
        else {}
    )
    return compared


def _written_as(path: Path) -> Path:
    """Where an owned path lives in the compared form (a Secret's stringData is data)."""
    return ("data", *path[1:]) if path[:1] == ("stringData",) else path


def _ignored(path: Path) -> bool:
    if path[:1] == ("metadata",):
        # Owned metadata other than labels and annotations (finalizers, owner references)
        # is not compared, as its values are not: only the server or others change it.
        return len(path) < 2 or path[1] not in _METADATA_COMPARED
    return bool(path) and path[0] in _IGNORED_TOP


def _uncovered(
    desired: Any, live: Any, path: Path, atomic: Mapping[int, ListKind]
) -> Iterator[Path]:
    if isinstance(desired, dict):
        yield from _uncovered_map(desired, live, path, atomic)
    elif isinstance(desired, list):
        yield from _uncovered_list(desired, live, path, atomic)
    elif not _same_scalar(desired, live, path):
        yield path


def _uncovered_map(
    desired: dict[str, Any], live: Any, path: Path, atomic: Mapping[int, ListKind]
) -> Iterator[Path]:
    if not isinstance(live, dict):
        if desired or live is not None:
            yield path
        return
    for key, value in desired.items():
        if _unset(value):
            continue  # null asks for nothing; an empty map or list sets nothing to compare
        if key not in live:
            yield (*path, key)
        else:
            yield from _uncovered(value, live[key], (*path, key), atomic)


def _uncovered_list(
    desired: list[Any], live: Any, path: Path, atomic: Mapping[int, ListKind]
) -> Iterator[Path]:
    if not isinstance(live, list):
        yield path
        return
    kind = atomic.get(id(live))
    if kind is ListKind.SET:
        # Others may add members of their own (a Namespace's finalizers): fleet's must be in.
        for member in desired:
            if member not in live:
                yield (*path, Member(member))
        return
    # A list that is one field in managedFields is atomic, whatever names its items have
    # (RoleBinding subjects): an item added or removed there is a difference.
    merge_key = None if kind is ListKind.ATOMIC else _merge_key(desired)
    if merge_key is None:
        if len(desired) != len(live):
            yield path
            return
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            yield from _uncovered(want, have, (*path, index), atomic)
        return
    for item in desired:
        step = _match(item, merge_key)
        found = _find(live, step)
        if found is None:
            yield (*path, step)
        else:
            yield from _uncovered(item, found, (*path, step), atomic)


def _unset(value: Any) -> bool:
    return value is None or value in ({}, [])


def _same_scalar(desired: Any, live: Any, path: Path) -> bool:
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return False
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return desired == live
    parent = path[-2] if len(path) >= 2 else None
    field = path[-1] if path else None
    quantity = parent in QUANTITY_PARENTS or field in QUANTITY_FIELDS
    return quantity and quantities.equal(desired, live)


def _merge_key(items: Sequence[Any]) -> tuple[str, ...] | None:
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in MERGE_KEYS:
        if all(all(field in item for field in key) for item in items):
            return key
    return None


_NUMBERED = frozenset({("containerPort",), ("port",)})


def _match(item: dict[str, Any], merge_key: tuple[str, ...]) -> Match:
    fields = [(key, item[key]) for key in merge_key]
    if merge_key in _NUMBERED and "protocol" in item:
        # Ports of one number are two items for TCP and UDP (the API keys them by both).
        fields.append(("protocol", item["protocol"]))
    return Match(tuple(fields))


def _find(items: list[Any], step: Match) -> Any:
    # A key field the desired item leaves out matches any value: the server defaults
    # some (a port's protocol) and records them in the key of managedFields. An item
    # that has every key field wins, so that the TCP port does not stand for the UDP one.
    partial = None
    for item in items:
        if not isinstance(item, dict) or not any(field in item for field, _ in step.fields):
            continue
        if all(field not in item or _key_equal(item[field], v) for field, v in step.fields):
            if all(field in item for field, _ in step.fields):
                return item
            partial = item if partial is None else partial
    return partial


def _key_equal(left: Any, right: Any) -> bool:
    return left == right and type(left) is type(right)


# -- ownership (FieldsV1) -------------------------------------------------------------------


def _entries(manifest: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(manifest, dict):
        return []
    metadata = manifest.get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, dict) else None
    return (
        [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
    )


def _entry_identity(entry: Mapping[str, Any]) -> tuple[str, str, str, str]:
    # The API server keeps one Update entry per manager and API version.
    return (
        str(entry.get("manager")),
        str(entry.get("operation")),
        str(entry.get("apiVersion") or ""),
        str(entry.get("subresource") or ""),
    )


def _leaves(fields: Mapping[str, Any], path: Path) -> Iterator[Path]:
    children = [(key, value) for key, value in fields.items() if key != "."]
    if not children:
        if path:
            yield path
        return
    for key, value in children:
        step = _fields_step(key)
        if step is None:
            # A set member (``v:``) or a key fleet cannot read: the list itself is owned.
            if path:
                yield path
            continue
        if isinstance(value, dict):
            yield from _leaves(value, (*path, step))
        else:
            yield (*path, step)


@functools.lru_cache(maxsize=4096)
def _fields_step(key: str) -> Step | None:
    """One FieldsV1 key as a path step: ``f:name``, ``k:{...}``, ``i:3``, ``v:"member"``."""
    prefix, _, rest = key.partition(":")
    try:
        if prefix == "f":
            return rest
        if prefix == "i":
            return int(rest)
        if prefix == "v":
            member = json.loads(rest)
            return Member(member) if not isinstance(member, dict | list) else None
        if prefix == "k":
            decoded = json.loads(rest)
            if isinstance(decoded, dict):
                return Match(tuple(sorted(decoded.items())))
    except ValueError:
        return None
    return None


def _has(desired: Any, path: Path) -> bool:
    """Whether ``desired`` sets something at the owned ``path``."""
    document = desired
    for step in path:
        if isinstance(step, str):
            # A key set to null is set: the server owns it for fleet (and keeps owning it).
            if not isinstance(document, dict) or step not in document:
                return False
            document = document[step]
        elif isinstance(step, int):
            if not isinstance(document, list) or not 0 <= step < len(document):
                return False
            document = document[step]
        elif isinstance(step, Member):
            if not isinstance(document, list) or step.value not in document:
                return False
            document = step.value
        else:
            if not isinstance(document, list):
                return False
            document = _find(document, step)
            if document is None:
                return False
    return True


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
