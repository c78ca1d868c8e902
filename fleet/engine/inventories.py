"""Inventories: the record, kept in each cluster, of what each bundle applied there.

Pruning is "what the bundle had before, minus what it has now", so "before" must survive
a restart of fleet, a move to another replica, and the loss of the history database.
It is therefore kept where the objects are: one ConfigMap per bundle in the cluster
itself (``fleet-system/fleet-inventory-<bundle>``), as Flux keeps a Kustomization's
inventory in its status in the cluster. A record in fleet's own memory would be lost on
restart; one in PostgreSQL would make pruning depend on a database being up, and in
memory-only mode would be lost as well.

The ConfigMap carries fleet's managed-by label, so the informers cache it like any other
managed object and reading an inventory costs no request; it is written only when the
set of objects changed (or, for an observe-only bundle, its digest), so an idle fleet
never writes it and a commit that only changes values does not either. It
lists each object's API version as well as its key, so that after a restart fleet
knows which kinds to watch to find objects that are no longer in Git. It also records
the digest of the bundle as last applied completely, which tells whether an observe-only
bundle's desired state has changed since (then it is applied) or not (then differences
are drift to report).

An inventory someone has edited into something unreadable counts as no inventory: fleet
then prunes only what carries the bundle's label in its cache, and says so in the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from fleet.engine.reports import BundleReport, BundleState
from fleet.planning.desired import DesiredBundle
from fleet.planning.plans import Action
from fleet.planning.rendering import BUNDLE_LABEL, MANAGED_BY
from fleet.planning.specs import Drift
from fleet.structs.kube import ObjectCache
from fleet.structs.objects import BundleName, GroupVersionKind, Manifest, ObjectKey

logger = logging.getLogger(__name__)

INVENTORY_LABEL = "fleet.dev/inventory"
"""Label (value ``"true"``) that marks a ConfigMap as a bundle's inventory."""

PREFIX = "fleet-inventory-"
NAMESPACE_KIND = GroupVersionKind("", "v1", "Namespace")
CONFIGMAP_KIND = GroupVersionKind("", "v1", "ConfigMap")


@dataclass(frozen=True, slots=True)
class Entry:
    """One object of an inventory: its key, and the API version it was applied at."""

    key: ObjectKey
    api_version: str

    @property
    def gvk(self) -> GroupVersionKind:
        return GroupVersionKind.from_api_version(self.api_version, self.key.kind)


@dataclass(frozen=True, slots=True)
class Inventory:
    """What one bundle last applied to one cluster."""

    bundle: BundleName
    entries: frozenset[Entry]
    digest: str
    """The bundle digest of the last complete apply; "" when it did not complete."""

    @property
    def keys(self) -> frozenset[ObjectKey]:
        return frozenset(entry.key for entry in self.entries)

    def __repr__(self) -> str:
        return f"Inventory({self.bundle}, {len(self.entries)} objects, {self.digest[:19]})"


def key_of(bundle: str, *, namespace: str) -> ObjectKey:
    """The key of a bundle's inventory ConfigMap."""
    return ObjectKey(group="", kind="ConfigMap", namespace=namespace, name=PREFIX + bundle)


def namespace_manifest(namespace: str) -> Manifest:
    """The Namespace that holds the inventories; fleet's, but no bundle's."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {MANAGED_BY[0]: MANAGED_BY[1]}},
    }


def manifest(inventory: Inventory, *, namespace: str) -> Manifest:
    """The ConfigMap that records ``inventory``."""
    objects = sorted(
        [e.api_version, e.key.kind, e.key.namespace, e.key.name] for e in inventory.entries
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": PREFIX + inventory.bundle,
            "namespace": namespace,
            "labels": {
                MANAGED_BY[0]: MANAGED_BY[1],
                BUNDLE_LABEL: inventory.bundle,
                INVENTORY_LABEL: "true",
            },
        },
        "data": {
            "bundle": inventory.bundle,
            "digest": inventory.digest,
            "objects": json.dumps(objects, separators=(",", ":")),
        },
    }


def read_all(
    cache: ObjectCache,
    *,
    namespace: str,
    live: Callable[[ObjectKey], Manifest | None] | None = None,
    bundles: Iterable[BundleName] = (),
) -> dict[BundleName, Inventory]:
    """Every bundle's inventory in a cluster, by bundle.

    ``live`` (a `LiveView`'s ``get``) trusts fleet's own writes over a cache that has
    not caught up yet: a sync that follows another at once then reads the inventories
    that one wrote -- ``bundles``' too, if they are too new for the cache -- and does not
    write them again.
    """
    read = live or cache.get
    keys = {
        ObjectKey.from_manifest(obj)
        for obj in cache.by_kind("", "ConfigMap")
        if (obj.get("metadata") or {}).get("namespace") == namespace
    }
    keys.update(key_of(bundle, namespace=namespace) for bundle in bundles)
    found: dict[BundleName, Inventory] = {}
    for key in sorted(keys):
        obj = read(key)
        labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
        if obj is None or labels.get(INVENTORY_LABEL) != "true":
            continue
        inventory = parse(obj)
        if inventory is not None:
            found[inventory.bundle] = inventory
    return found


def parse(obj: Manifest) -> Inventory | None:
    """The inventory a ConfigMap records, or None (logged) if it is not readable."""
    name = str((obj.get("metadata") or {}).get("name") or "")
    data = obj.get("data")
    try:
        if not isinstance(data, dict) or not name.startswith(PREFIX):
            raise ValueError("not an inventory ConfigMap")
        rows = json.loads(data["objects"])
        if not isinstance(rows, list) or not all(_is_row(row) for row in rows):
            raise ValueError("objects are not [apiVersion, kind, namespace, name] rows")
        entries = frozenset(
            Entry(
                ObjectKey(
                    group=GroupVersionKind.from_api_version(version, kind).group,
                    kind=kind,
                    namespace=ns,
                    name=object_name,
                ),
                version,
            )
            for version, kind, ns, object_name in rows
        )
    except (KeyError, TypeError, ValueError):
        logger.warning("ConfigMap %s is not a readable fleet inventory; ignoring it", name)
        return None
    return Inventory(BundleName(name[len(PREFIX) :]), entries, str(data.get("digest") or ""))


def _is_row(row: object) -> bool:
    # Edited JSON can hold anything: a number where a version was would fail further on.
    return isinstance(row, list) and len(row) == 4 and all(isinstance(part, str) for part in row)


def changed(old: Inventory | None, new: Inventory, *, drift: Drift) -> bool:
    """Whether ``new`` must be written (the cluster holds ``old``).

    The digest matters only to an observe-only bundle, so a bundle that corrects drift
    is rewritten only when its set of objects changes: a commit that changes values
    costs one write per changed object and none here.
    """
    if old is None or old.entries != new.entries:
        return True
    return drift is Drift.OBSERVE and old.digest != new.digest


def kinds(inventories: Iterable[Inventory]) -> set[GroupVersionKind]:
    """Every kind the inventories list: what must be watched to prune them."""
    return {entry.gvk for inventory in inventories for entry in inventory.entries}


def entries_of(manifests: Mapping[ObjectKey, Manifest]) -> frozenset[Entry]:
    """Inventory entries for objects by key."""
    return frozenset(Entry(key, str(obj["apiVersion"])) for key, obj in manifests.items())


def after_sync(bundle: DesiredBundle, report: BundleReport, old: Inventory | None) -> Inventory:
    """The bundle's inventory once a sync has applied and pruned as ``report`` says.

    A clean sync records exactly the desired objects and the bundle's digest. After a
    failure the record keeps what it had (so a later sync still prunes it), adds what was
    applied, drops what was pruned, and keeps the old digest: the bundle is not applied
    completely yet.
    """
    clean = report.state is not BundleState.FAILED and not any(
        entry.action is Action.FAILED for entry in report.pruned
    )
    entries = {} if clean or old is None else {entry.key: entry for entry in old.entries}
    kept = {o.key for o in report.objects if o.action is not Action.FAILED}
    for obj in bundle.objects:
        if obj.key in kept:
            entries[obj.key] = Entry(obj.key, str(obj.manifest["apiVersion"]))
    for entry in report.pruned:
        if entry.action is not Action.FAILED:
            entries.pop(entry.key, None)
    digest = bundle.digest if clean else (old.digest if old is not None else "")
    return Inventory(bundle.name, frozenset(entries.values()), digest)
