"""Fixtures for leader election: electors on a fake clock against one simulated
management cluster, each with its own session and metrics, as separate replicas would be.

- `sim`: a running simulator (from tests.support.simulator); its cluster ``sim-000`` is
  the management cluster, with the namespace ``fleet-system`` created.
- `kubeconfig`: the kubeconfig of ``sim-000``, as `LeaderSettings.kubeconfig` reads it.
- `clock`: the fake clock every elector of a test shares.
- `electors`: a factory of started electors (``await electors("a")``), closed at the end.
- `api`: a raw HTTP session to ``sim-000``, for what another client does to the Lease.

Helpers are in `tests.leader.support`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fleet.sim import serving
from tests.leader import support
from tests.support import simulator
from tests.support.clock import FakeClock
from tests.support.simulator import sim

__all__ = ["sim"]


@pytest.fixture
async def api(sim: serving.Simulator) -> AsyncIterator[simulator.ApiSession]:
    async with simulator.ApiSession(sim, support.CLUSTER) as session:
        created = await session.request(
            "POST", "/api/v1/namespaces", body={"metadata": {"name": support.NAMESPACE}}
        )
        assert created.status == 201, created
        yield session


@pytest.fixture
async def kubeconfig(sim: serving.Simulator, api: simulator.ApiSession, tmp_path: Path) -> Path:
    await sim.write_files(tmp_path / "sim")
    return tmp_path / "sim" / f"{support.CLUSTER}.kubeconfig"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def electors(kubeconfig: Path, clock: FakeClock) -> AsyncIterator[support.Electors]:
    async with support.Electors(kubeconfig, clock) as started:
        yield started
