"""The simulator's tests: pure modules directly, the server through raw HTTP, kubectl and
kubernetes-asyncio as subprocess and library, each against an in-process simulator.

Fixtures:
- `sim`: a running two-cluster simulator over plain HTTP with 10 ms controllers
  (from tests.support.simulator);
- `api`: an `ApiSession` to its cluster sim-000;
- `cluster`: a bare `VirtualCluster` for tests that call the verbs without HTTP;
- `tls_sim`: the same simulator over HTTPS, for kubectl and kubernetes-asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fleet.sim import clusters, config, controllers, serving
from tests.support import simulator
from tests.support.simulator import sim

__all__ = ["sim"]


@pytest.fixture
async def api(sim: serving.Simulator) -> AsyncIterator[simulator.ApiSession]:
    async with simulator.ApiSession(sim, "sim-000") as session:
        yield session


@pytest.fixture
async def tls_sim() -> AsyncIterator[serving.Simulator]:
    async with simulator.running(clusters=2, tls=True) as running:
        yield running


@pytest.fixture
def cluster() -> clusters.VirtualCluster:
    """One cluster's state with its system namespaces, driven without HTTP."""
    settings = config.SimConfig(clusters=1, rollout_delay=0.01, namespace_delay=0.01)
    virtual = clusters.VirtualCluster("sim-000", settings=settings)
    controllers.bootstrap(virtual)
    return virtual
