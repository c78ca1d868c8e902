"""The fleet spec as values: what `fleet.yaml` says, checked and typed.

Everything here is frozen and holds only validated data, so rendering never needs to
re-check the spec and can never be surprised by a wrong type. Positions in `fleet.yaml`
stay attached to the parts that rendering may still find fault with (a target, a patch, a
policy), so that a problem found for one cluster still points at the line to fix.

Parameter values and patches are kept as `Template`s: JSON values plus the positions of
their `${...}` strings, filled in per cluster by `fleet.planning.substituting`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from fleet.planning.parsing import Path
from fleet.structs.objects import BundleName
from fleet.structs.problems import Location

API_VERSION = "fleet.dev/v1alpha1"
KIND = "Fleet"


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


class Drift(StrEnum):
    """What the engine does when someone else changes a managed object."""

    CORRECT = "correct"
    """Revert it to the desired state (and report it)."""
    OBSERVE = "observe"
    """Report it only."""


class Operator(StrEnum):
    """Label selector operators, as Kubernetes spells them."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `matchExpressions` entry."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Selector:
    """A Kubernetes label selector; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    """A JSON value from YAML, with the position of each string that holds ``${``.

    Its repr leaves the value out: a template may be (or patch) a Secret.
    """

    value: Any
    holes: tuple[tuple[Path, Location], ...] = ()

    def __repr__(self) -> str:
        return f"Template({len(self.holes)} placeholders)"


class PatchType(StrEnum):
    MERGE = "mergePatch"
    """RFC 7386 JSON merge patch: a partial object; ``null`` removes a key."""
    JSON = "jsonPatch"
    """RFC 6902 JSON patch: a list of operations on JSON pointers."""


@dataclass(frozen=True, slots=True)
class PatchTarget:
    """Which objects a patch applies to: by kind and name, optionally group and namespace."""

    kind: str
    name: str
    group: str | None = None
    namespace: str | None = None

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Patch:
    target: PatchTarget
    type: PatchType
    body: Template
    """The merge patch (a mapping), or the list of JSON patch operations."""
    location: Location


@dataclass(frozen=True, slots=True)
class Target:
    """A group of clusters a bundle goes to, and what differs for them."""

    name: str
    cluster_selector: Selector
    location: Location
    params: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    revision: str | None = None
    """A commit (7 to 40 hex digits, as written) this target stays on, or None."""
    patches: tuple[Patch, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True, slots=True)
class Bundle:
    """A directory of manifests and the clusters it goes to."""

    name: BundleName
    path: str
    """Relative to the repository root, normalised: no ``.``, ``..``, or trailing ``/``."""
    location: Location
    targets: tuple[Target, ...]
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    """Labels of the bundle itself, for policies' bundle selectors (not added to objects)."""
    params: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    depends_on: tuple[BundleName, ...] = ()
    drift: Drift = Drift.CORRECT

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True, slots=True)
class Policy:
    """Rules that rendered objects must follow, on the clusters and bundles selected."""

    name: str
    location: Location
    cluster_selector: Selector = Selector()
    bundle_selector: Selector = Selector()
    deny_kinds: frozenset[str] = frozenset()
    """Kinds refused: ``Kind`` (any group) or ``Kind.group``."""
    require_labels: tuple[str, ...] = ()
    require_limits: bool = False
    forbid_privileged: bool = False
    forbid_host_namespaces: bool = False


@dataclass(frozen=True, slots=True)
class BundleSource:
    """A bundle directory at one revision: the unit of files the engine reads for rendering.

    ``revision`` is the pinned revision as written in `fleet.yaml` (the engine resolves
    it), or None for the revision being rendered.
    """

    path: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{self.path}@{self.revision}" if self.revision else self.path


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """A whole `fleet.yaml`: bundles in the order written, and policies."""

    bundles: tuple[Bundle, ...]
    policies: tuple[Policy, ...] = ()

    def sources(self) -> tuple[BundleSource, ...]:
        """Every bundle directory, at every revision, that rendering needs, each once.

        The engine reads these (through the Git adapter, which keeps reads inside the
        repository and within limits) and passes them to `rendering.render_fleet`.
        """
        found = {
            BundleSource(bundle.path, target.revision)
            for bundle in self.bundles
            for target in bundle.targets
        }
        return tuple(sorted(found, key=lambda source: (source.path, source.revision or "")))
