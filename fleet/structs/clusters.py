"""A cluster as the rest of fleet sees it: a name and labels.

How a cluster is reached (kubeconfig, context, in-cluster) is the inventory's business
in `fleet.clients`; planning and targeting only ever need the name and the labels, so
that is all this type carries -- and it can never carry a credential by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fleet.structs.objects import ClusterName


@dataclass(frozen=True, slots=True)
class Cluster:
    """One member of the fleet, identified by name and selected by labels."""

    name: ClusterName
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # Frozen means frozen: a caller's dict must not change the labels afterwards.
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
