"""Fixtures for fleet.clients, whose every test talks to a real simulator over HTTP(S).

- `sim`: a running two-cluster simulator over plain HTTP with fast controllers (from
  tests.support.simulator); `tls_sim`: the same over HTTPS.
- `inventory`: the simulator's kubeconfigs and inventory.yaml written to a temporary
  directory, and `settings`: `ClientSettings` reading it, with short backoffs so that
  tests which do meet failures recover quickly.
- `clusters`: a started `ClusterRegistry` on that inventory and a private metrics
  registry.

Helpers in `tests.clients.support`: manifests, an other client that writes, and
`eventually()` for conditions that real I/O makes true.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from fleet.clients import registry
from fleet.sim import serving
from fleet.structs.settings import ClientSettings
from tests.clients import support
from tests.support import simulator
from tests.support.simulator import sim

__all__ = ["sim"]


@pytest.fixture
async def tls_sim() -> AsyncIterator[serving.Simulator]:
    async with simulator.running(clusters=2, tls=True) as running:
        yield running


@pytest.fixture
async def inventory(sim: serving.Simulator, tmp_path: Path) -> Path:
    return await sim.write_files(tmp_path / "fleet")


@pytest.fixture
def settings(inventory: Path) -> ClientSettings:
    return support.settings(inventory)


@pytest.fixture
def metrics() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def clusters(
    settings: ClientSettings, metrics: CollectorRegistry
) -> AsyncIterator[registry.ClusterRegistry]:
    async with registry.ClusterRegistry(settings, registry=metrics) as started:
        yield started
