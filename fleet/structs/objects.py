"""Names of things in a fleet: clusters, revisions, bundles and Kubernetes objects.

An object is identified by group, kind, namespace and name -- not by version -- because
the same object served at `apps/v1` and at a later version is still one object. Keys
are frozen and ordered so that plans, diffs and inventories sort the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NewType, TypeAlias

ClusterName = NewType("ClusterName", str)
"""A cluster's name in the inventory; unique within one fleet."""

Revision = NewType("Revision", str)
"""A Git commit SHA (40 hex digits). A sync is always of one revision."""

BundleName = NewType("BundleName", str)
"""A bundle's name in `fleet.yaml`."""

Manifest: TypeAlias = dict[str, Any]
"""A Kubernetes object as the API serves it: plain JSON values."""


@dataclass(frozen=True, slots=True, order=True)
class GroupVersionKind:
    """A kind at one API version (`apps/v1` `Deployment`); the core group is ``""``."""

    group: str
    version: str
    kind: str

    @classmethod
    def from_api_version(cls, api_version: str, kind: str) -> GroupVersionKind:
        group, _, version = api_version.rpartition("/")
        return cls(group=group, version=version, kind=kind)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.api_version} {self.kind}"


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """Identity of one object in one cluster; ``namespace`` is ``""`` when cluster-scoped."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> ObjectKey:
        """The key of a manifest that has `apiVersion`, `kind` and `metadata.name`."""
        gvk = GroupVersionKind.from_api_version(str(manifest["apiVersion"]), str(manifest["kind"]))
        metadata = manifest.get("metadata") or {}
        return cls(
            group=gvk.group,
            kind=gvk.kind,
            namespace=str(metadata.get("namespace") or ""),
            name=str(metadata["name"]),
        )

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"
