"""How a simulator run is set up: one frozen value, shared by the CLI, tests and benchmarks.

`fleet.sim` stands alone (it may not import fleet.structs), so its settings live here
rather than in fleet's settings groups; the `fleet sim` command fills them from flags.
Cluster names and labels are derived from the index of each cluster, so that a run
with the same settings always produces the same inventory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fleet.sim import faults

DEFAULT_LABELS = "env=dev,staging,prod;region=eu-west,us-east"
"""Three environments over two regions: round robin gives all six combinations."""


@dataclass(frozen=True, slots=True)
class LabelSpread:
    """Label values handed out round robin: cluster i gets values[i % len] for each key."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @classmethod
    def parse(cls, spec: str) -> LabelSpread:
        """Read `key=v1,v2;key2=v3` (an empty spec gives no labels); ValueError if malformed."""
        values: dict[str, tuple[str, ...]] = {}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            key, equals, listed = part.partition("=")
            choices = tuple(v.strip() for v in listed.split(",") if v.strip())
            if not equals or not key.strip() or not choices:
                raise ValueError(f"expected key=value[,value...] in {part!r}")
            if key.strip() in values:
                raise ValueError(f"label {key.strip()!r} given twice")
            values[key.strip()] = choices
        return cls(values)

    def for_index(self, index: int) -> dict[str, str]:
        return {key: choices[index % len(choices)] for key, choices in self.values.items()}


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything a simulator run needs; the defaults suit tests and the demo."""

    clusters: int = 3
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port."""
    tls: bool = True
    """HTTPS with a self-signed CA (kubectl needs it to send tokens); plain HTTP if False."""
    name_prefix: str = "sim"
    labels: LabelSpread = field(default_factory=lambda: LabelSpread.parse(DEFAULT_LABELS))
    rollout_delay: float = 0.5
    """Seconds after a spec change until a workload reports a finished rollout."""
    namespace_delay: float = 0.1
    """Seconds a deleted namespace stays Terminating (after its content is gone)."""
    history_window: int = 1000
    """Events kept per cluster for watches and continue tokens; older ones are 410 Gone."""
    bookmark_interval: float = 60.0
    """Seconds between BOOKMARK events on watches that asked for them."""
    watch_queue_limit: int = 10_000
    """Events a watch may have unsent before the server drops it as too slow."""
    max_body_bytes: int = 3 * 1024 * 1024
    """Larger request bodies get 413, as with the apiserver's 3 MiB limit."""
    faults: faults.Faults = faults.NONE
    """Faults every cluster starts with."""
    seed: int = 0
    """Seed of the per-cluster random generators (faults, generated names)."""
    shutdown_timeout: float = 5.0
    """Seconds open connections get to finish when the simulator stops."""

    def __post_init__(self) -> None:
        if not 1 <= self.clusters <= 100_000:
            raise ValueError("clusters must be between 1 and 100000")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        if self.rollout_delay < 0 or self.namespace_delay < 0:
            raise ValueError("rollout_delay and namespace_delay must not be negative")
        if self.history_window < 1 or self.watch_queue_limit < 1:
            raise ValueError("history_window and watch_queue_limit must be positive")
        if self.bookmark_interval <= 0:
            raise ValueError("bookmark_interval must be positive")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?", self.name_prefix):
            raise ValueError("name_prefix must be a short lowercase DNS label")

    def names(self) -> tuple[str, ...]:
        """Cluster names: sim-000, sim-001, ... (wide enough for the count)."""
        width = max(3, len(str(self.clusters - 1)))
        return tuple(f"{self.name_prefix}-{i:0{width}d}" for i in range(self.clusters))
