"""Field ownership: server-side apply and the `managedFields` of every write.

A real API server records, for every object, which *field manager* set which fields,
in `metadata.managedFields`; server-side apply uses that record to merge a manager's
configuration, to remove what the manager no longer applies, and to refuse (409) a
change to a value that another manager owns. fleet relies on all three -- it applies
with its own manager, and it names whoever changed an object behind its back -- so the
simulator must behave the same way. This module is that behaviour, as two pure
functions that the HTTP server calls with the stored object and a clock reading:
:func:`apply` for `PATCH` with `application/apply-patch+yaml`, :func:`update` for
every create, update and other patch.

Both read the entries into sets of fields (:mod:`fleet.sim.fieldsets`), let one walk
of the incoming value say which fields it sets and which of those change
(:mod:`fleet.sim.merging`), and then do set arithmetic per entry. An entry whose set did
not change is written back as the very dict it was read from, and an apply that
changes nothing returns the live object itself, so that the server can skip the write.

The semantics follow the API server's field manager (structured-merge-diff and the
apiserver's `managedfields` package); where the simulator is simpler,
docs/simulator.md says so.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet.sim import fieldsets, listtypes, merging
from fleet.sim.fieldsets import FieldSet, Path

InvalidObjectError = merging.InvalidObjectError
"""The configuration cannot be applied (an associative list item without its key, a
duplicate key, managedFields set): the API server answers 422 Invalid."""


class Operation(StrEnum):
    """How a manager came to own its fields: by server-side apply, or by any other write."""

    APPLY = "Apply"
    UPDATE = "Update"


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field that an apply would change although another manager owns it."""

    manager: str
    """The other field manager, such as ``kubectl-edit`` or ``fleet``."""
    field: str
    """The field as the API server prints it, such as ``.spec.replicas``."""
    operation: Operation = Operation.APPLY
    """How the other manager came to own the field."""
    api_version: str = ""
    """The version the other manager used; printed for updates only, as the API server does."""
    subresource: str = ""

    @property
    def owner(self) -> str:
        """The other manager as the API server names it: ``"kubectl-edit" using apps/v1``."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation is Operation.UPDATE:
            text += f" using {self.api_version}"
        return text

    @property
    def identity(self) -> str:
        """The manager's identifier (JSON); the API server groups and sorts conflicts by it."""
        entry = {"manager": self.manager, "operation": str(self.operation)}
        if self.operation is Operation.UPDATE:
            entry["apiVersion"] = self.api_version
        if self.subresource:
            entry["subresource"] = self.subresource
        return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


class ConflictError(Exception):
    """409 Conflict: the apply would change values that other managers own.

    ``str()`` is the API server's message; :meth:`causes` its Status ``details.causes``.
    """

    def __init__(self, conflicts: Iterable[Conflict]) -> None:
        self.conflicts: tuple[Conflict, ...] = tuple(conflicts)
        super().__init__(_conflict_message(self.conflicts))

    def causes(self) -> list[dict[str, str]]:
        """One ``FieldManagerConflict`` cause per conflict, for the Status body."""
        return [
            {
                "type": "FieldManagerConflict",
                "message": f"conflict with {conflict.owner}",
                "field": conflict.field,
            }
            for conflict in self.conflicts
        ]


def _conflict_message(conflicts: tuple[Conflict, ...]) -> str:
    if len(conflicts) == 1:
        (only,) = conflicts
        return f"Apply failed with 1 conflict: conflict with {only.owner}: {only.field}"
    # By manager, in the order of their identifiers; each manager's fields as given.
    by_owner: dict[str, list[Conflict]] = {}
    for conflict in conflicts:
        by_owner.setdefault(conflict.identity, []).append(conflict)
    lines: list[str] = []
    for identity in sorted(by_owner):
        group = by_owner[identity]
        lines.append(f"conflicts with {group[0].owner}:")
        lines.extend(f"- {conflict.field}" for conflict in group)
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


STRIPPED: FieldSet = frozenset(
    {
        (fieldsets.field("apiVersion"),),
        (fieldsets.field("kind"),),
        (fieldsets.field("metadata"),),
        *(
            (fieldsets.field("metadata"), fieldsets.field(name))
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)
"""Fields the API server never records as owned: identity and server-kept metadata."""

SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "selfLink",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
"""Metadata the server keeps: an applied configuration cannot set it."""

_STATUS = fieldsets.field("status")


@dataclass(frozen=True, slots=True)
class _Entry:
    """One managedFields entry, its fields read into a set."""

    manager: str
    operation: Operation
    api_version: str
    subresource: str
    time: str
    fields: FieldSet
    wire: Mapping[str, Any] | None = None
    """The dict this entry was read from, while it is unchanged; written back as is."""

    @property
    def identity(self) -> tuple[str, Operation, str, str]:
        # Appliers are one entry whatever version they applied at; updaters one per version.
        version = self.api_version if self.operation is Operation.UPDATE else ""
        return (self.manager, self.operation, version, self.subresource)

    def with_fields(self, fields: FieldSet) -> _Entry:
        """This entry owning ``fields`` instead; its time stays, as when fields are taken."""
        if fields == self.fields:
            return self
        return dataclasses.replace(self, fields=fields, wire=None)

    def to_wire(self) -> Mapping[str, Any]:
        if self.wire is not None:
            return self.wire
        wire: dict[str, Any] = {
            "manager": self.manager,
            "operation": str(self.operation),
            "apiVersion": self.api_version,
        }
        if self.time:
            wire["time"] = self.time
        wire["fieldsType"] = "FieldsV1"
        wire["fieldsV1"] = fieldsets.serialise(self.fields)
        if self.subresource:
            wire["subresource"] = self.subresource
        return wire

    def order(self) -> tuple[str, str, str, str, str]:
        # The API server's order: appliers first, then oldest first.
        return (self.operation, self.time, self.manager, self.api_version, self.subresource)


def apply(
    *, live: dict[str, Any] | None, config: dict[str, Any], manager: str, force: bool, now: str
) -> dict[str, Any]:
    """Server-side apply of ``config`` by ``manager`` onto ``live`` (None: a create).

    Returns the new object with ``metadata.managedFields`` updated -- or ``live`` itself
    when the apply changes nothing at all. Raises ConflictError, unless ``force``, when a
    value that another manager owns would change; InvalidObjectError when ``config``
    cannot be applied. ``status`` in ``config`` is ignored, as on the main resource, and
    so is metadata the server keeps (uid, resourceVersion, ...).

    Nothing is deep-copied: the result shares what did not change with ``live`` and
    ``config``, so all three must be treated as immutable from here on.
    """
    api_version = str(config.get("apiVersion") or (live or {}).get("apiVersion") or "")
    if not api_version:
        raise InvalidObjectError("apiVersion must be set")
    table = listtypes.for_api_version(api_version)
    walked = _walk(_applied_part(config), live, table=table, strict=True)
    applied = walked.paths - STRIPPED
    changed = walked.changed - STRIPPED
    entries = _entries_or_none(live) or []
    identity = (manager, Operation.APPLY, "", "")
    mine = next((entry for entry in entries if entry.identity == identity), None)
    others = [entry for entry in entries if entry is not mine]

    conflicts: list[tuple[_Entry, Path]] = []
    for position, other in enumerate(others):
        taken = other.fields & changed
        if taken:
            conflicts.extend((other, path) for path in taken)
            others[position] = other.with_fields(other.fields - taken)
    if conflicts and not force:
        raise ConflictError(_conflicts(conflicts))

    obj: dict[str, Any] = walked.merged
    pruned = False
    if mine is not None:
        kept = applied.union(*(other.fields for other in others))
        dropped = _removable(mine.fields - kept, kept)
        if dropped:
            obj = merging.prune(obj, dropped, table=table)
            pruned = True
    if walked.reshaped or pruned:
        present = merging.fields_of(obj, table=table)
        others = [other.with_fields(other.fields & present) for other in others]
        applied &= present

    changed_object = obj is not live
    if mine is None or changed_object or mine.fields != applied or mine.api_version != api_version:
        mine = _Entry(manager, Operation.APPLY, api_version, "", now, applied)
    elif not any(other.wire is None for other in others):
        return obj
    return _with_entries(obj, [*others, mine])


def update(
    *,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """Record a create, update or patch by ``manager``: ``new`` is the object after it.

    The fields whose value the write adds or changes become ``manager``'s (operation
    Update, one entry per manager, version and subresource) and leave every other
    entry, silently; fields the write removes leave every entry. Writes to the main
    resource never own ``status``; writes to the ``status`` subresource own only it.
    ``managedFields`` in ``new`` replace the old ones when they are a valid, non-empty
    list (``[{}]`` clears them), as a client may send them; otherwise the old ones stand.
    Returns a shallow copy of ``new`` (and of its metadata) with managedFields updated.
    Never refuses a write: invalid list items are left out of the fields; only an
    object nested too deeply to walk raises InvalidObjectError.
    """
    api_version = str(new.get("apiVersion") or (old or {}).get("apiVersion") or "")
    table = listtypes.for_api_version(api_version)
    walked = _walk(
        _without_managed_fields(new),
        _without_managed_fields(old) if old is not None else None,
        table=table,
        strict=False,
    )
    present = walked.paths - STRIPPED
    in_status = subresource == "status"
    changed = (
        frozenset(path for path in walked.changed if (path[0] == _STATUS) is in_status) - STRIPPED
    )

    identity = (manager, Operation.UPDATE, api_version, subresource)
    mine: _Entry | None = None
    entries: list[_Entry] = []
    for entry in _entries_of_update(old, new, subresource=subresource):
        if entry.identity == identity:
            mine = entry
        else:
            entries.append(entry.with_fields((entry.fields - changed) & present))
    if changed:
        owned = mine.fields | changed if mine is not None else changed
        mine = _Entry(manager, Operation.UPDATE, api_version, subresource, now, owned & present)
    elif mine is not None:
        mine = mine.with_fields(mine.fields & present)
    return _with_entries(new, entries if mine is None else [*entries, mine])


def _walk(
    value: Mapping[str, Any],
    base: Mapping[str, Any] | None,
    *,
    table: listtypes.Table,
    strict: bool,
) -> merging.Walk:
    try:
        return merging.walk(
            value, merging.MISSING if base is None else base, table=table, strict=strict
        )
    except RecursionError:
        # Kubernetes objects are a dozen levels deep; this one is hundreds.
        raise InvalidObjectError("the object is nested too deeply") from None


def _applied_part(config: Mapping[str, Any]) -> dict[str, Any]:
    part = {name: value for name, value in config.items() if name != "status"}
    metadata = config.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidObjectError("metadata must be an object")
    if metadata.get("managedFields"):
        raise InvalidObjectError("metadata.managedFields must be nil")
    if metadata:
        part["metadata"] = {
            name: value for name, value in metadata.items() if name not in SERVER_METADATA
        }
    return part


def _without_managed_fields(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj
    trimmed = {name: value for name, value in metadata.items() if name != "managedFields"}
    return {**obj, "metadata": trimmed}


def _removable(candidates: FieldSet, kept: FieldSet) -> list[Path]:
    """The candidates that can go: not those that lead to a field someone still owns,
    nor the key fields of a list item that stays for that reason."""
    if not candidates:
        return []
    leading = {path[:end] for path in kept for end in range(1, len(path))}
    return [
        path
        for path in candidates
        if path not in leading and not (path[:-1] in leading and _is_key_field(path))
    ]


def _is_key_field(path: Path) -> bool:
    item, field = path[-2:] if len(path) > 1 else ("", "")
    return item.startswith("k:") and field[2:] in json.loads(item[2:])


def _conflicts(found: list[tuple[_Entry, Path]]) -> list[Conflict]:
    conflicts = [
        Conflict(
            manager=entry.manager,
            field=fieldsets.describe(path),
            operation=entry.operation,
            api_version=entry.api_version,
            subresource=entry.subresource,
        )
        for entry, path in found
    ]
    orders = [fieldsets.path_order(path) for _, path in found]
    # The API server lists conflicts by manager, and each manager's fields in path order.
    ranked = sorted(range(len(found)), key=lambda at: (conflicts[at].identity, orders[at]))
    return [conflicts[at] for at in ranked]


def _entries_or_none(obj: Mapping[str, Any] | None) -> list[_Entry] | None:
    """The entries of ``obj``, or None when they are missing or malformed."""
    metadata = obj.get("metadata") if obj is not None else None
    raw = metadata.get("managedFields") if isinstance(metadata, dict) else None
    if not raw:
        return None
    try:
        return _read_entries(raw)
    except fieldsets.MalformedFieldsError:
        return None


def _entries_of_update(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], *, subresource: str
) -> list[_Entry]:
    # As the API server: the request's managedFields win when valid and non-empty, and a
    # single empty entry resets them; subresources cannot set them at all.
    if not subresource:
        metadata = new.get("metadata")
        raw = metadata.get("managedFields") if isinstance(metadata, dict) else None
        if raw == [{}]:
            return []
        from_request = _entries_or_none(new)
        if from_request is not None:
            return from_request
    return _entries_or_none(old) or []


def _read_entries(raw: Any) -> list[_Entry]:
    if not isinstance(raw, list):
        raise fieldsets.MalformedFieldsError("managedFields must be a list")
    entries = [_read_entry(wire) for wire in raw]
    if len({entry.identity for entry in entries}) != len(entries):
        raise fieldsets.MalformedFieldsError("managedFields has two entries for one manager")
    return entries


_OPERATIONS = frozenset(str(operation) for operation in Operation)


def _read_entry(wire: Any) -> _Entry:
    if not isinstance(wire, dict):
        raise fieldsets.MalformedFieldsError("a managedFields entry must be an object")
    texts = [wire.get(name, "") for name in ("manager", "apiVersion", "time", "subresource")]
    if not all(isinstance(text, str) for text in texts):
        raise fieldsets.MalformedFieldsError(
            "manager, apiVersion, time and subresource are strings"
        )
    if wire.get("operation") not in _OPERATIONS or wire.get("fieldsType") != "FieldsV1":
        raise fieldsets.MalformedFieldsError(
            "operation must be Apply or Update, fieldsType FieldsV1"
        )
    manager, api_version, time, subresource = texts
    fields = fieldsets.parse(wire.get("fieldsV1", {}))
    return _Entry(
        manager, Operation(wire["operation"]), api_version, subresource, time, fields, wire
    )


def _with_entries(obj: Mapping[str, Any], entries: list[_Entry]) -> dict[str, Any]:
    kept = sorted((entry for entry in entries if entry.fields), key=_Entry.order)
    metadata = obj.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    if kept:
        metadata["managedFields"] = [entry.to_wire() for entry in kept]
    else:
        metadata.pop("managedFields", None)
    return {**obj, "metadata": metadata}
