"""Which lists of which kinds are merged item by item, and by which keys: a data table.

A real API server knows from each kind's OpenAPI schema whether a list is *atomic*
(owned and replaced as a whole), a *map* (items merged by key fields, owned one by
one: `k:{"name":"web"}`) or a *set* of scalars (`v:"example.com/protect"`), and whether
a map is merged key by key or, like a label selector, atomic too. The simulator has no
schemas, so it keeps what matters for the kinds it serves in this table instead, keyed
by the field's name and the name of the field that encloses it (`containers` inside
`spec`, `ports` inside `containers`): every list not in it is atomic, every map not in
it is merged key by key. That is right for the fields people apply to built-in kinds,
and it keeps the merge a lookup instead of a schema walk.

Custom resources get only the `metadata` lists: their schemas could declare
`x-kubernetes-list-type: map`, but the simulator does not read CRD schemas, so their
lists are atomic -- a documented simplification.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class ListType:
    """How one list merges: by ``keys``, or as a set of scalars when ``keys`` is empty.

    ``defaults`` are key values the API server fills in when an item omits that key
    (a container port without ``protocol`` is the ``TCP`` one), so that the item's
    identity is the same whether or not the manifest spelled the default out.
    """

    keys: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_set(self) -> bool:
        return not self.keys


SET = ListType()
"""A list of distinct scalars, each owned on its own (``metadata.finalizers``)."""

Place = tuple[str, str]
"""Where a field is: the name of the field that encloses it, and its own name."""


@dataclass(frozen=True, slots=True)
class Table:
    """How the fields of a group of kinds merge, where that is not the default."""

    lists: Mapping[Place, ListType]
    """Lists merged item by item; every other list is atomic."""
    atomic_maps: frozenset[Place] = frozenset()
    """Maps owned and replaced as a whole; every other map is merged key by key."""


def _keyed(*keys: str, **defaults: Any) -> ListType:
    # Sorted, because an item's element lists its keys in name order.
    return ListType(keys=tuple(sorted(keys)), defaults=MappingProxyType(defaults))


_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

_METADATA_LISTS: Mapping[Place, ListType] = {
    ("metadata", "finalizers"): SET,
    ("metadata", "ownerReferences"): _keyed("uid"),
}

METADATA = Table(lists=MappingProxyType(_METADATA_LISTS))
"""What every object has, custom resources included."""

BUILT_IN = Table(
    lists=MappingProxyType(
        {
            **_METADATA_LISTS,
            # Pod specs, also inside the templates of workloads and jobs.
            **{("spec", name): _keyed("name") for name in _CONTAINER_LISTS},
            ("spec", "volumes"): _keyed("name"),
            ("spec", "imagePullSecrets"): _keyed("name"),
            ("spec", "hostAliases"): _keyed("ip"),
            ("spec", "resourceClaims"): _keyed("name"),
            ("spec", "schedulingGates"): _keyed("name"),
            ("spec", "topologySpreadConstraints"): _keyed("topologyKey", "whenUnsatisfiable"),
            # Containers of every kind.
            **{
                (name, "ports"): _keyed("containerPort", "protocol", protocol="TCP")
                for name in _CONTAINER_LISTS
            },
            **{(name, "env"): _keyed("name") for name in _CONTAINER_LISTS},
            **{(name, "volumeMounts"): _keyed("mountPath") for name in _CONTAINER_LISTS},
            **{(name, "volumeDevices"): _keyed("devicePath") for name in _CONTAINER_LISTS},
            **{(name, "resizePolicy"): _keyed("resourceName") for name in _CONTAINER_LISTS},
            ("resources", "claims"): _keyed("name"),
            # Services; and Namespaces, whose spec has finalizers of its own.
            ("spec", "ports"): _keyed("port", "protocol", protocol="TCP"),
            ("spec", "finalizers"): SET,
            # Conditions of workloads, namespaces and CRDs (Jobs' are atomic for real).
            ("status", "conditions"): _keyed("type"),
        }
    ),
    atomic_maps=frozenset(
        {
            # Label selectors of workloads, jobs and disruption budgets, and the
            # selector map of Services: all atomic in the API.
            ("spec", "selector"),
            ("topologySpreadConstraints", "labelSelector"),
            # References to one key or field, in environment variables.
            ("valueFrom", "configMapKeyRef"),
            ("valueFrom", "secretKeyRef"),
            ("valueFrom", "fieldRef"),
            ("valueFrom", "resourceFieldRef"),
        }
    ),
)
"""The built-in kinds the simulator serves."""

BUILT_IN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "rbac.authorization.k8s.io",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
        "networking.k8s.io",
        "storage.k8s.io",
        "discovery.k8s.io",
        "scheduling.k8s.io",
        "node.k8s.io",
        "events.k8s.io",
        "admissionregistration.k8s.io",
        "certificates.k8s.io",
    }
)
"""API groups served by the API server itself rather than by a CustomResourceDefinition."""


def for_api_version(api_version: str) -> Table:
    """The table for objects of ``api_version`` (``apps/v1``, ``v1``, ``example.com/v1``)."""
    group = api_version.rpartition("/")[0]
    return BUILT_IN if group in BUILT_IN_GROUPS else METADATA
