"""Fixtures for the Git mirror: real repositories with real commits, a fake clock, a
mirror set on a private metrics registry, and a real smart-HTTP server on loopback."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from fleet.sources import mirroring, publishing, registry, remotes
from fleet.sources.metrics import SourceMetrics
from fleet.structs.settings import GitSettings
from tests.git.doubles import PASSWORD, USERNAME, GitHttpServer, RecordingClock


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def settings(tmp_path: Path) -> GitSettings:
    return GitSettings(state_dir=tmp_path / "state", fetch_timeout=20.0)


@pytest.fixture
def metrics_registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository with one commit on main: the remote the mirrors follow."""
    path = tmp_path / "origin.git"
    publishing.publish_files(
        path,
        files={"fleet.yaml": b"bundles: []\n", "apps/web/deploy.yaml": b"kind: Deployment\n"},
        message="Initial fleet",
    )
    return path


OpenMirror = Callable[..., Awaitable[mirroring.GitMirror]]


@pytest.fixture
async def open_mirror(
    settings: GitSettings, metrics_registry: CollectorRegistry, clock: RecordingClock
) -> AsyncIterator[OpenMirror]:
    """Opens mirrors without a poll loop (the test decides when to fetch); closes them."""
    opened: list[mirroring.GitMirror] = []
    metrics = SourceMetrics(metrics_registry)

    async def open_one(
        url: str,
        *,
        settings: GitSettings = settings,
        credentials: remotes.Credentials | None = None,
    ) -> mirroring.GitMirror:
        setup = mirroring.MirrorSetup(settings, credentials, metrics, clock, random.Random(4))
        mirror = await mirroring.GitMirror.open(remotes.parse(url), setup)
        opened.append(mirror)
        return mirror

    yield open_one
    for mirror in opened:
        await mirror.close()


@pytest.fixture
async def mirrors(
    settings: GitSettings, metrics_registry: CollectorRegistry, clock: RecordingClock
) -> AsyncIterator[registry.MirrorSet]:
    async with registry.MirrorSet(
        settings, registry=metrics_registry, clock=clock, rng=random.Random(4), environ={}
    ) as mirror_set:
        yield mirror_set


@pytest.fixture
def http_server(origin: Path) -> Iterator[GitHttpServer]:
    server = GitHttpServer({"origin.git": origin}, username=USERNAME, password=PASSWORD)
    yield server
    server.close()


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Spans of the mirrors, from a private provider (the global one is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(mirroring, "_tracer", provider.get_tracer("fleet"))
    return exporter
