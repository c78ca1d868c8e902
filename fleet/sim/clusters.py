"""One virtual cluster: its objects, the kinds it serves, its timers, counters and faults.

A `VirtualCluster` is plain state plus the few decisions that belong to the cluster
as a whole (what time it is, which Service IP comes next, compaction). The verbs live
in `reading`, `writing` and `watching`, and the emulated control plane in
`controllers`; they all take the cluster as their first argument, so that tests can
drive a cluster directly, without HTTP. A cluster owns no task: idle, it costs its
objects and nothing else, which is what lets one process hold a thousand of them.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from datetime import UTC, datetime

from fleet.sim import config, counting, faults, resources, storage, timers


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """The apiserver's timestamp format: seconds, UTC, trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SERVICE_NETWORK = ipaddress.IPv4Network("10.96.0.0/12")


class VirtualCluster:
    """The state of one cluster served by the simulator."""

    def __init__(
        self,
        name: str,
        *,
        settings: config.SimConfig,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.name = name
        self.settings = settings
        self.clock = clock
        self.store = storage.Store(window=settings.history_window)
        self.catalog = resources.BUILTIN_CATALOG
        self.timers = timers.Timers(name)
        self.counters = counting.Counters()
        self.faults = settings.faults
        self.random = random.Random(f"{settings.seed}:{name}")  # noqa: S311 - not for secrets
        self._next_ip = 10  # 10.96.0.1 is the kubernetes Service of a real cluster
        self._now_second = -1
        self._now_text = ""
        self.closed = False

    def now(self) -> str:
        moment = self.clock()
        # Formatting a timestamp costs more than a write's bookkeeping; once a second does.
        second = int(moment.timestamp())
        if second != self._now_second:
            self._now_second, self._now_text = second, rfc3339(moment)
        return self._now_text

    def allocate_ip(self) -> str:
        address = _SERVICE_NETWORK.network_address + self._next_ip
        self._next_ip += 1
        return str(address)

    def random_suffix(self, length: int = 5) -> str:
        """The random part of a generateName, from the apiserver's alphabet."""
        return "".join(self.random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(length))

    def set_faults(self, new: faults.Faults) -> None:
        self.faults = new
        if new.outage is not faults.Outage.NONE:
            self.drop_watches()

    def drop_watches(self) -> None:
        """Cut every open watch of this cluster (an outage, or shutdown)."""
        for watcher in self.store.watchers():
            watcher.close()

    def compact(self, window: int | None = None) -> None:
        """Forget event history (all of it, or all but `window` events, keeping that size)."""
        self.store.compact(window)

    def close(self) -> None:
        """Stop the emulated controllers and end open watches; the objects stay readable."""
        self.closed = True
        self.timers.close()
        self.drop_watches()

    def __repr__(self) -> str:
        return (
            f"VirtualCluster({self.name}, rv={self.store.resource_version}, "
            f"{len(self.timers)} timers, faults={'on' if self.faults.active else 'off'})"
        )
