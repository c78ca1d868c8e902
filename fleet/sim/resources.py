"""The kinds a virtual cluster serves: a data table of built-in kinds, plus CRD-defined ones.

Every part of the simulator asks this table the same questions a real apiserver's
registry answers: is a kind namespaced, does it have a `status` or `scale`
subresource, does it keep `metadata.generation`, does a delete return the object or a
`Status`. Keeping that as data (one `ResourceType` row per kind and version) means the
request handlers have no per-kind branches, and a CRD adds rows to a cluster's
`Catalog` exactly as it adds endpoints to a real cluster.

Objects are stored by `storage_key` (plural and group, no version), so a custom
resource served at two versions is one object, as in etcd.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STATUS = "status"
SCALE = "scale"


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One kind at one version, as discovery lists it."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    generation: bool = False
    """Whether the apiserver maintains metadata.generation (it does for spec/status kinds)."""
    returns_deleted_object: bool = False
    """Whether a delete answers with the object rather than a `Status` of success."""
    custom: bool = False
    """Defined by a CRD: list items keep kind/apiVersion, no server-side defaults."""
    unconditional_update: bool = True
    """Whether an update (PUT) may leave out metadata.resourceVersion; a Lease's may not
    (its registry strategy's ``AllowUnconditionalUpdate`` is false), so that leader
    election cannot overwrite another holder's Lease blindly."""
    list_kind: str = ""
    prefix: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.list_kind:
            object.__setattr__(self, "list_kind", f"{self.kind}List")
        # Stored bodies leave out kind and apiVersion (lists of built-in kinds do not
        # carry them); a full document is this prefix plus the body without its "{".
        object.__setattr__(
            self,
            "prefix",
            f'{{"kind":"{self.kind}","apiVersion":"{self.api_version}",'.encode(),
        )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> str:
        """Identity of the stored collection, independent of the served version."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def __str__(self) -> str:
        return f"{self.api_version} {self.kind}"


def _builtin(
    group: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    status: bool = False,
    scale: bool = False,
    generation: bool = False,
    returns_object: bool = False,
    version: str = "v1",
    categories: tuple[str, ...] = (),
    unconditional_update: bool = True,
) -> ResourceType:
    subresources = {STATUS} if status else set()
    if scale:
        subresources.add(SCALE)
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        subresources=frozenset(subresources),
        generation=generation,
        returns_deleted_object=returns_object,
        unconditional_update=unconditional_update,
    )


_ALL = ("all",)
RBAC = "rbac.authorization.k8s.io"
APIEXTENSIONS = "apiextensions.k8s.io"

BUILTIN: tuple[ResourceType, ...] = (
    _builtin("", "Namespace", "namespaces", namespaced=False, short=("ns",), status=True,
             returns_object=True),
    _builtin("", "ConfigMap", "configmaps", short=("cm",)),
    _builtin("", "Secret", "secrets"),
    _builtin("", "Service", "services", short=("svc",), status=True, returns_object=True,
             categories=_ALL),
    _builtin("", "ServiceAccount", "serviceaccounts", short=("sa",), returns_object=True),
    _builtin("", "ResourceQuota", "resourcequotas", short=("quota",), status=True,
             returns_object=True),
    _builtin("", "LimitRange", "limitranges", short=("limits",)),
    _builtin("apps", "Deployment", "deployments", short=("deploy",), status=True, scale=True,
             generation=True, categories=_ALL),
    _builtin("apps", "StatefulSet", "statefulsets", short=("sts",), status=True, scale=True,
             generation=True, categories=_ALL),
    _builtin("apps", "DaemonSet", "daemonsets", short=("ds",), status=True, generation=True,
             categories=_ALL),
    _builtin("batch", "Job", "jobs", status=True, generation=True, categories=_ALL),
    _builtin(RBAC, "Role", "roles"),
    _builtin(RBAC, "RoleBinding", "rolebindings"),
    _builtin(RBAC, "ClusterRole", "clusterroles", namespaced=False),
    _builtin(RBAC, "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    _builtin("coordination.k8s.io", "Lease", "leases", unconditional_update=False),
    _builtin(APIEXTENSIONS, "CustomResourceDefinition", "customresourcedefinitions",
             namespaced=False, short=("crd", "crds"), status=True, generation=True),
)  # fmt: skip

NAMESPACES = BUILTIN[0]
CONFIGMAPS = BUILTIN[1]
SERVICEACCOUNTS = BUILTIN[4]
CRDS = BUILTIN[-1]

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key that puts versions in Kubernetes order: v2, v1, v1beta2, v1beta1, v1alpha1, foo."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def from_crd(crd: Mapping[str, Any]) -> tuple[ResourceType, ...]:
    """The kinds a CustomResourceDefinition serves, one row per served version.

    The caller has validated the definition (see `validating.crd`), so the fields
    read here exist and have the right types.
    """
    spec = crd["spec"]
    names = spec["names"]
    rows = []
    for version in sorted(spec["versions"], key=lambda v: version_priority(v["name"])):
        if not version.get("served", True):
            continue
        declared = version.get("subresources") or {}
        subresources = frozenset(sub for sub in (STATUS, SCALE) if sub in declared)
        rows.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec["scope"] == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subresources,
                generation=True,
                returns_deleted_object=True,
                custom=True,
                list_kind=names.get("listKind") or "",
            )
        )
    return tuple(rows)


class Catalog:
    """The kinds one cluster serves right now: the built-ins and its CRDs' kinds.

    A catalog is never changed in place; a cluster swaps in a new one when a CRD
    comes or goes, so a request that looked a kind up keeps a consistent view.
    """

    __slots__ = ("_by_path", "_custom", "_groups")

    def __init__(self, custom: Mapping[str, tuple[ResourceType, ...]] | None = None) -> None:
        self._custom: dict[str, tuple[ResourceType, ...]] = dict(custom or {})
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._groups: dict[str, list[str]] = {}
        builtin_keys = {row.storage_key for row in BUILTIN}
        rows = list(BUILTIN)
        for crd_name in sorted(self._custom):
            # A CRD may not redefine a built-in collection; the built-in wins.
            rows.extend(r for r in self._custom[crd_name] if r.storage_key not in builtin_keys)
        for row in rows:
            self._by_path.setdefault((row.group, row.version, row.plural), row)
            versions = self._groups.setdefault(row.group, [])
            if row.version not in versions:
                versions.append(row.version)
        for versions in self._groups.values():
            versions.sort(key=version_priority)

    def with_crd(self, name: str, rows: tuple[ResourceType, ...]) -> Catalog:
        """A catalog that also serves (or no longer serves, if `rows` is empty) a CRD's kinds."""
        custom = dict(self._custom)
        if rows:
            custom[name] = rows
        else:
            custom.pop(name, None)
        return Catalog(custom)

    def resource(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def groups(self) -> dict[str, list[str]]:
        """Group name to served versions, preferred first; the core group is ``""``."""
        return {group: list(versions) for group, versions in self._groups.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self._by_path.values() if r.group == group and r.version == version]

    def all(self) -> Iterable[ResourceType]:
        return self._by_path.values()

    def crd_rows(self, crd_name: str) -> tuple[ResourceType, ...]:
        return self._custom.get(crd_name, ())

    def __repr__(self) -> str:
        return f"Catalog({len(self._by_path)} kinds, {len(self._custom)} CRDs)"


BUILTIN_CATALOG = Catalog()
"""Shared by every cluster until it creates its first CRD."""
