"""A whole controller against a simulator, over real HTTP and a real Git repository.

    async with harness.running(tmp_path, clusters=4, repo=files) as run:
        await run.converged()
        run.publish({...})                 # a new commit; the mirror fetches it at once
        run.sim.counters("sim-000").writes

`Run` owns the pieces the runtime would build: a `MirrorSet` following a bare repository
on disk (``file://``), a `ClusterRegistry` on the simulator's inventory, the in-memory
history store, and the `Controller` running in a task. Spans go to an in-memory
exporter, so tests can read the span tree of a sync. Waiting helpers poll state that
real I/O changes (there is no event to await for "the cluster converged"); nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import unittest.mock
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from fleet.clients import registry
from fleet.engine.controlling import Controller
from fleet.sim import serving
from fleet.sources import mirroring, publishing
from fleet.sources.registry import MirrorSet
from fleet.store import memory
from fleet.structs.clock import Clock, SystemClock
from fleet.structs.fleetview import ClusterState, ClusterView
from fleet.structs.history import HistoryStore
from fleet.structs.objects import ClusterName, Revision
from fleet.structs.settings import EngineSettings, GitSettings, HistorySettings, QueueSettings
from tests.clients import support
from tests.support import simulator

Files = Mapping[str, bytes | str]


def fleet_yaml(bundles: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"apiVersion": "fleet.dev/v1alpha1", "kind": "Fleet", "bundles": bundles})


class Run:
    """A running controller and everything around it."""

    def __init__(
        self,
        *,
        sim: serving.Simulator,
        origin: Path,
        controller: Controller,
        clusters: registry.ClusterRegistry,
        history: HistoryStore,
        spans: InMemorySpanExporter,
        mirrors: MirrorSet,
        metrics: CollectorRegistry,
    ) -> None:
        self.sim = sim
        self.origin = origin
        self.controller = controller
        self.clusters = clusters
        self.history = history
        self.spans = spans
        self.mirrors = mirrors
        self.metrics = metrics

    @property
    def names(self) -> list[ClusterName]:
        return [cluster.name for cluster in self.clusters.clusters()]

    def view(self, name: str) -> ClusterView:
        found = self.controller.board.cluster(ClusterName(name))
        assert found is not None, name
        return found

    async def publish(self, files: Files, *, message: str = "change") -> Revision:
        """Commit ``files`` as the whole tree and make the mirror fetch it now."""
        revision = publishing.publish_files(
            self.origin, files={k: _bytes(v) for k, v in files.items()}, message=message
        )
        self.mirrors.trigger([self.origin.as_uri()])
        return revision

    async def converged(
        self, revision: Revision | None = None, *, names: Sequence[str] | None = None
    ) -> None:
        """Wait until every cluster (or ``names``) is ready at ``revision`` (any if None)."""

        def done() -> bool:
            for name in names or self.names:
                view = self.view(name)
                if view.state is not ClusterState.READY:
                    return False
                if revision is not None and view.revision != revision:
                    return False
            return True

        await self.until(done)

    async def until(self, condition: Callable[[], bool], *, within: float = 60.0) -> None:
        await support.eventually(condition, within=within)

    def sample(self, name: str, **labels: str) -> float:
        """The value of one metric series (0 if it has none yet)."""
        value = self.metrics.get_sample_value(name, labels)
        return value or 0.0

    def writes(self, name: str) -> int:
        return self.sim.counters(name).writes


@contextlib.asynccontextmanager
async def _patched(module: object, name: str, value: object) -> AsyncIterator[None]:
    with unittest.mock.patch.object(module, name, value):
        yield


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path,
    *,
    files: Files,
    clusters: int = 2,
    engine: EngineSettings | None = None,
    queue: QueueSettings | None = None,
    clock: Clock | None = None,
    history: HistoryStore | None = None,
    **sim_settings: Any,
) -> AsyncIterator[Run]:
    """A simulator of ``clusters`` clusters, a repository holding ``files``, and a
    controller keeping the one in the state of the other, until the block ends.

    ``clock`` is the controller's (a `FakeClock` for tests of its timing); the clients
    and the mirror always run on the system clock, since they do real I/O.
    """
    async with (
        simulator.running(clusters=clusters, **sim_settings) as sim,
        controlling(
            sim, tmp_path, files=files, engine=engine, queue=queue, clock=clock, history=history
        ) as run,
    ):
        yield run


@contextlib.asynccontextmanager
async def controlling(
    sim: serving.Simulator,
    tmp_path: Path,
    *,
    files: Files,
    engine: EngineSettings | None = None,
    queue: QueueSettings | None = None,
    clock: Clock | None = None,
    history: HistoryStore | None = None,
) -> AsyncIterator[Run]:
    """A new controller (with its own repository, mirror and history) for ``sim``; the
    history is in memory unless a started ``history`` store is given."""
    origin = tmp_path / "origin.git"
    publishing.publish_files(
        origin, files={k: _bytes(v) for k, v in files.items()}, message="initial"
    )
    metrics = CollectorRegistry()
    system = SystemClock()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    inventory = await sim.write_files(tmp_path / "sim")
    git = GitSettings(url=origin.as_uri(), state_dir=tmp_path / "state", poll_interval=3600)
    if history is None:
        history = memory.MemoryHistory(HistorySettings(), registry=metrics)
    async with (
        # The mirrors' fetch spans go to the same exporter, so links can be checked.
        _patched(mirroring, "_tracer", provider.get_tracer("fleet")),
        MirrorSet(git, registry=metrics, clock=system) as mirrors,
        registry.ClusterRegistry(support.settings(inventory), registry=metrics) as members,
    ):
        source = await mirrors.source(git.url, branch=git.branch)
        controller = Controller(
            settings=engine or EngineSettings(establish_timeout=10.0, health_interval=0.2),
            queue_settings=queue or QueueSettings(workers=8, max_delay=2.0),
            clusters=members,
            source=source,
            history=history,
            registry=metrics,
            clock=clock or system,
            tracer=provider.get_tracer("fleet"),
            rng=random.Random(0),
        )
        task = asyncio.create_task(controller.run(), name="controller under test")
        try:
            yield Run(
                sim=sim,
                origin=origin,
                controller=controller,
                clusters=members,
                history=history,
                spans=spans,
                mirrors=mirrors,
                metrics=metrics,
            )
        finally:
            controller.stop()
            await task
            provider.shutdown()
