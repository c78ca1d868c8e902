"""Plans: what a sync will do to one bundle on one cluster, decided before any request.

`plan` compares a bundle's desired objects with the live objects the informer cache
holds and returns a `Plan`: the objects to apply (created or configured, with the fields
that differ), the ones already as desired (no request at all), and the objects to prune.
It is a pure function of values -- the engine executes a plan and reports what happened
as a change set with the same actions (Flux's names: created, configured, unchanged,
deleted, skipped).

Pruning is the difference between the bundle's previous inventory and its new objects,
restricted to live objects that fleet applied (its server-side apply entry is in their
`managedFields`) and that carry fleet's labels *for this bundle*: whatever the inventory
says, fleet never deletes an object it did not create, nor one that another bundle has
taken over, nor one onto which someone copied fleet's labels.

An observe-only bundle (``drift: observe``) is applied when its desired state changes
(its digest differs from the one last applied) and left alone otherwise: a live object
that differs is reported as drift, not reverted, and one that someone deleted is not
recreated.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from fleet.planning import diffing, ordering
from fleet.planning.desired import DesiredBundle, DesiredObject
from fleet.planning.rendering import BUNDLE_LABEL, MANAGED_BY
from fleet.planning.specs import Drift
from fleet.structs.objects import BundleName, Manifest, ObjectKey


class Action(StrEnum):
    """What a sync did (or will do) with one object."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"  # differs, but the bundle only observes drift
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """One desired object and what applying it will do."""

    object: DesiredObject
    action: Action
    fields: tuple[str, ...] = ()
    """The paths where the live object differs (empty when it is created or unchanged)."""

    @property
    def key(self) -> ObjectKey:
        return self.object.key

    @property
    def needs_apply(self) -> bool:
        return self.action in (Action.CREATED, Action.CONFIGURED)


@dataclass(frozen=True, slots=True)
class Plan:
    """One bundle's plan: steps in apply order, and keys to prune in reverse order."""

    bundle: BundleName
    steps: tuple[Step, ...]
    prune: tuple[ObjectKey, ...]

    @property
    def to_apply(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.needs_apply)

    @property
    def in_sync(self) -> bool:
        """True when executing the plan would make no request."""
        return not self.to_apply and not self.prune

    def __repr__(self) -> str:
        counts = {action: 0 for action in Action}
        for step in self.steps:
            counts[step.action] += 1
        shown = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
        return f"Plan({self.bundle}: {shown or 'no objects'}, {len(self.prune)} to prune)"


LiveLookup = Callable[[ObjectKey], Manifest | None]
"""The live object with a key (from the informer cache), or None."""

Compare = Callable[[DesiredObject, Manifest], tuple[str, ...]]
"""Where a live object differs from a desired one (`diffing.differences` by default; the
engine passes one that remembers objects it already found in sync)."""


def plan(
    bundle: DesiredBundle,
    *,
    live: LiveLookup,
    previous: Collection[ObjectKey],
    field_manager: str,
    applied_digest: str | None,
    compare: Compare | None = None,
) -> Plan:
    """What syncing ``bundle`` needs, given the live objects and the previous inventory.

    ``applied_digest`` is the bundle digest of the last complete apply (from the
    inventory), which decides whether an observe-only bundle is applied.
    """
    observing = bundle.drift is Drift.OBSERVE and applied_digest == bundle.digest
    steps = []
    for desired in sorted(bundle.objects, key=lambda d: ordering.apply_order(d.key)):
        current = live(desired.key)
        fields: tuple[str, ...] = ()
        if current is None:
            action = Action.CREATED
        else:
            if compare is not None:
                fields = compare(desired, current)
            else:
                fields = diffing.differences(desired.manifest, current, field_manager=field_manager)
            action = Action.CONFIGURED if fields else Action.UNCHANGED
        if observing and action is not Action.UNCHANGED:
            action = Action.SKIPPED
        steps.append(Step(desired, action, fields))
    keep = {d.key for d in bundle.objects}
    found = prunable(
        bundle.name, previous=previous, keep=keep, live=live, field_manager=field_manager
    )
    return Plan(bundle=bundle.name, steps=tuple(steps), prune=found)


def prunable(
    bundle: BundleName,
    *,
    previous: Collection[ObjectKey],
    keep: Collection[ObjectKey],
    live: LiveLookup,
    field_manager: str,
) -> tuple[ObjectKey, ...]:
    """Keys of ``previous`` not in ``keep`` whose live object is fleet's, of ``bundle``;
    in prune order (the reverse of apply order)."""
    found = [
        key
        for key in previous
        if key not in keep
        and (current := live(key)) is not None
        and owned_by(current, bundle, field_manager=field_manager)
        and not _deleting(current)
    ]
    return tuple(sorted(found, key=ordering.apply_order, reverse=True))


def owned_by(manifest: Manifest, bundle: str, *, field_manager: str) -> bool:
    """Whether fleet applied a live object for ``bundle``: it carries fleet's managed-by
    label and the bundle's, and ``field_manager`` has an Apply entry in its managedFields
    (labels can be copied onto anything; only fleet's own apply writes that entry)."""
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        return False
    labels = metadata.get("labels")
    entries = metadata.get("managedFields")
    if not isinstance(labels, dict) or not isinstance(entries, list):
        return False
    applied = any(
        isinstance(entry, dict)
        and entry.get("manager") == field_manager
        and entry.get("operation") == "Apply"
        for entry in entries
    )
    return (
        applied
        and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
        and labels.get(BUNDLE_LABEL) == bundle
    )


def _deleting(manifest: Manifest) -> bool:
    # Already being deleted (waiting on finalizers): deleting it again would only cost a request.
    metadata = manifest.get("metadata")
    return isinstance(metadata, dict) and bool(metadata.get("deletionTimestamp"))
