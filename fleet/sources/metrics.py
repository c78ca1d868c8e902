"""Prometheus metrics of the Git mirrors, on a registry the caller owns.

One `SourceMetrics` per registry, shared by every mirror, each series labelled with the
mirror's URL (never with credentials: URLs cannot carry them). The registry is passed
in rather than taken from prometheus_client's global default, so that tests and several
controllers in one process never see each other's numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class SourceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.fetches = Counter(
            "fleet_git_fetches",
            "Fetches of each remote, by result (updated, unchanged, failed).",
            ["url", "result"],
            registry=registry,
        )
        self.fetch_duration = Histogram(
            "fleet_git_fetch_duration_seconds",
            "Time from the start of a fetch to its verified result.",
            ["url"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.since_success = Gauge(
            "fleet_git_seconds_since_last_success",
            "Seconds since the last successful fetch of each remote (NaN before the first).",
            ["url"],
            registry=registry,
        )
        self.consecutive_failures = Gauge(
            "fleet_git_consecutive_failures",
            "Failed fetches of each remote since its last success.",
            ["url"],
            registry=registry,
        )
        self.read_bytes = Counter(
            "fleet_git_read_bytes",
            "Bytes inflated from each mirror's object store by reads (cache hits excluded).",
            ["url"],
            registry=registry,
        )

    def watch(self, url: str, *, since_success: Callable[[], float]) -> None:
        """Start the series of one mirror; the age is computed at scrape time."""
        self.since_success.labels(url=url).set_function(since_success)
        self.consecutive_failures.labels(url=url).set(0)

    def forget(self, url: str) -> None:
        """Drop the gauges of a closed mirror, which would otherwise age forever."""
        for gauge in (self.since_success, self.consecutive_failures):
            gauge.remove(url)
