"""Desired state: what rendering hands the engine for each cluster.

Values only, frozen, in a stable order, each with a digest, so the engine can compare a
cluster's new desired state with the last one by digest alone and sync only the clusters
that changed. A bundle that has problems on a cluster carries them instead of objects:
the engine must leave that bundle on that cluster as it is (neither apply nor prune),
and report the problems.

Manifests may be Secrets, so no repr here shows a manifest's content: objects show their
key and where they came from, bundles and states their counts and digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fleet.planning.specs import Drift
from fleet.structs.objects import BundleName, ClusterName, Manifest, ObjectKey
from fleet.structs.problems import Location, Problem


@dataclass(frozen=True, slots=True)
class DesiredObject:
    """One object as it should be on a cluster, and the document it was rendered from."""

    key: ObjectKey
    manifest: Manifest = field(hash=False)
    source: Location

    def __repr__(self) -> str:
        return f"DesiredObject({self.key}, from {self.source})"


@dataclass(frozen=True, slots=True)
class DesiredBundle:
    """One bundle on one cluster: its objects in key order, the options the engine needs,
    and the problems that block it.
    """

    name: BundleName
    target: str
    """The target (of the bundle) that selected this cluster."""
    namespace: str | None
    drift: Drift
    depends_on: tuple[BundleName, ...]
    revision: str | None
    """The revision the target is pinned to, as written in `fleet.yaml`, or None."""
    objects: tuple[DesiredObject, ...]
    problems: tuple[Problem, ...]
    digest: str

    @property
    def blocked(self) -> bool:
        """Whether problems stop this bundle on this cluster (then it has no objects)."""
        return bool(self.problems)

    def __repr__(self) -> str:
        state = f"{len(self.problems)} problems" if self.blocked else f"{len(self.objects)} objects"
        return f"DesiredBundle({self.name}, target {self.target}, {state}, {self.digest[:19]})"


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything one cluster should run: the bundles that target it, in `fleet.yaml` order."""

    cluster: ClusterName
    bundles: tuple[DesiredBundle, ...]
    digest: str

    def bundle(self, name: str) -> DesiredBundle | None:
        return next((bundle for bundle in self.bundles if bundle.name == name), None)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(problem for bundle in self.bundles for problem in bundle.problems)

    def __repr__(self) -> str:
        blocked = sum(bundle.blocked for bundle in self.bundles)
        return (
            f"DesiredState({self.cluster}, {len(self.bundles)} bundles, {blocked} blocked, "
            f"{self.digest[:19]})"
        )


@dataclass(frozen=True, slots=True)
class FleetRender:
    """Every cluster's desired state, and every problem found once, in file order."""

    states: Mapping[ClusterName, DesiredState]
    problems: tuple[Problem, ...]

    def __repr__(self) -> str:
        return f"FleetRender({len(self.states)} clusters, {len(self.problems)} problems)"
