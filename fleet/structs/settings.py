"""Settings, in small groups with documented defaults.

Each concern has its own frozen group (`settings.git.poll_interval`,
`settings.watching.reconnect_backoff`, ...), so a component receives only the group it
needs and a test builds that group alone. `Settings` collects the groups; the command
line and `FLEET_*` environment variables fill it in `fleet.runtime`.
"""

from __future__ import annotations

import dataclasses
import math

from fleet.structs import errors


@dataclasses.dataclass(frozen=True, slots=True)
class QueueSettings:
    """The work queue, its rate limiters and the workers that drain it (`settings.queue`)."""

    workers: int = 16
    """Reconciles that may run at once. A reconcile mostly waits on a cluster's API, so
    many share two cores; each key still runs on one worker at a time."""

    base_delay: float = 0.005
    """Seconds before the first retry of a failed key; each further failure doubles it."""

    max_delay: float = 300.0
    """Seconds a failing key waits at most between retries (five minutes)."""

    jitter: float = 0.1
    """Fraction by which a retry delay is shortened at random, so that keys that failed
    together (one outage, many clusters) do not all retry in the same instant."""

    qps: float = 10.0
    """Retries per second over all keys, once the burst is spent."""

    burst: int = 100
    """Retries allowed at once before `qps` applies."""

    reconcile_timeout: float = 300.0
    """Seconds one reconcile may take; past that it is cancelled and counts as a failure."""

    shutdown_grace: float = 20.0
    """Seconds that running reconciles get to finish on shutdown before they are
    cancelled; under Kubernetes' default 30 s termination grace, so fleet exits first."""

    def __post_init__(self) -> None:
        for name, ok, rule in (
            ("workers", self.workers >= 1, "at least 1"),
            ("base_delay", self.base_delay > 0, "above 0"),
            ("max_delay", self.max_delay >= self.base_delay, "at least base_delay"),
            ("jitter", 0 <= self.jitter < 1, "from 0 up to (not including) 1"),
            ("qps", self.qps > 0, "above 0"),
            ("burst", self.burst >= 1, "at least 1"),
            ("reconcile_timeout", self.reconcile_timeout > 0, "above 0"),
            ("shutdown_grace", self.shutdown_grace >= 0, "0 or more"),
        ):
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise errors.UserError(f"must be {rule}, not {value!r}", where=f"queue.{name}")
