"""What fleet's Kubernetes clients count: requests, watches, relists, cache sizes, state.

Two views of the same numbers. Prometheus metrics live on a registry that the caller
passes in (never prometheus_client's global default), one `ClientMetrics` per registry
shared by every cluster. Per-cluster `ClusterMeter`s also keep plain in-process counts,
which tests and benchmarks read without scraping.

Label sets are chosen for a thousand clusters: series that are per cluster are single
counters or gauges (requests by cluster, verb and code; reconnects; relists; cache
size; connection state), while the latency histogram, a dozen buckets per series, is by
verb only. A cluster's series are removed when it leaves the inventory, so the
registry does not keep growing with clusters that come and go.
"""

from __future__ import annotations

from collections import Counter as Tally
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fleet.structs.kube import ConnectionPhase
from fleet.structs.objects import ClusterName


class Verb(StrEnum):
    """The kinds of request fleet makes, as the API server's audit log would name them."""

    GET = "get"
    LIST = "list"
    WATCH = "watch"
    CREATE = "create"
    UPDATE = "update"
    APPLY = "apply"
    DELETE = "delete"
    DISCOVERY = "discovery"


ERROR_CODE = "error"
"""The ``code`` label of a request that got no HTTP answer (refused, reset, timed out)."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ClientMetrics:
    """The Prometheus metrics of every cluster client, on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "fleet_kube_requests",
            "Requests to Kubernetes API servers, by cluster, verb and HTTP status code"
            f" ({ERROR_CODE!r} when no answer came).",
            ["cluster", "verb", "code"],
            registry=registry,
        )
        self.latency = Histogram(
            "fleet_kube_request_duration_seconds",
            "Time from sending a request to its answer (for watches: to the stream's start).",
            ["verb"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.reconnects = Counter(
            "fleet_watch_reconnects",
            "Watches started again after one ended (timeout, drop or error), by cluster.",
            ["cluster"],
            registry=registry,
        )
        self.relists = Counter(
            "fleet_watch_relists",
            "Lists made again because the watch's resourceVersion was gone (410), by cluster.",
            ["cluster"],
            registry=registry,
        )
        self.cached = Gauge(
            "fleet_cache_objects",
            "Managed objects held in each cluster's cache.",
            ["cluster"],
            registry=registry,
        )
        self.connection = Gauge(
            "fleet_cluster_connection_state",
            "1 for the connection phase each cluster is in (connecting, ready, unreachable).",
            ["cluster", "state"],
            registry=registry,
        )
        self.watches = Gauge(
            "fleet_watches_open",
            "Watch connections open now, over all clusters.",
            registry=registry,
        )
        self.latencies = {verb: self.latency.labels(verb) for verb in Verb}


class ClusterMeter:
    """One cluster's share of the metrics, plus the same numbers as plain counts."""

    def __init__(self, metrics: ClientMetrics, cluster: ClusterName) -> None:
        self._metrics = metrics
        self.cluster = cluster
        self.requests: Tally[Verb] = Tally()
        """Requests by verb, whatever their answer."""
        self.reconnects = 0
        self.relists = 0
        self.watches = 0
        """Watch connections open now."""
        # Children by label values: `labels()` costs a lock and a lookup per request.
        self._counted: dict[tuple[Verb, str], Counter] = {}
        # Every series of the cluster exists from the start, so that rate() and alerts
        # see a zero rather than nothing; `forget` removes exactly these.
        metrics.reconnects.labels(cluster)
        metrics.relists.labels(cluster)
        self.cache_size(0)
        self.phase(ConnectionPhase.CONNECTING)

    def request(self, verb: Verb, code: int | None, seconds: float) -> None:
        label = ERROR_CODE if code is None else str(code)
        self.requests[verb] += 1
        counted = self._counted.get((verb, label))
        if counted is None:
            counted = self._counted[verb, label] = self._metrics.requests.labels(
                self.cluster, verb, label
            )
        counted.inc()
        self._metrics.latencies[verb].observe(seconds)

    def reconnected(self) -> None:
        self.reconnects += 1
        self._metrics.reconnects.labels(self.cluster).inc()

    def relisted(self) -> None:
        self.relists += 1
        self._metrics.relists.labels(self.cluster).inc()

    def watch_opened(self) -> None:
        self.watches += 1
        self._metrics.watches.inc()

    def watch_closed(self) -> None:
        self.watches -= 1
        self._metrics.watches.dec()

    def cache_size(self, count: int) -> None:
        self._metrics.cached.labels(self.cluster).set(count)

    def phase(self, phase: ConnectionPhase) -> None:
        for each in ConnectionPhase:
            self._metrics.connection.labels(self.cluster, each).set(1 if each is phase else 0)

    def forget(self) -> None:
        """Remove this cluster's series (it left the inventory)."""
        for verb, code in self._counted:
            self._metrics.requests.remove(self.cluster, verb, code)
        for metric in (self._metrics.reconnects, self._metrics.relists, self._metrics.cached):
            metric.remove(self.cluster)
        for each in ConnectionPhase:
            self._metrics.connection.remove(self.cluster, each)
        self._counted.clear()

    def __repr__(self) -> str:
        shown = ", ".join(f"{verb}={n}" for verb, n in sorted(self.requests.items()))
        return (
            f"ClusterMeter({self.cluster}: {shown or 'no requests'}, "
            f"watches={self.watches}, reconnects={self.reconnects}, relists={self.relists})"
        )
