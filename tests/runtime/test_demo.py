"""`fleet demo`: a first sync and a change, on simulated clusters, with nothing set up."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fleet.runtime import demo, signals
from fleet.structs.fleetview import ClusterState, ClusterView
from fleet.structs.objects import ClusterName, Revision
from tests.runtime.conftest import EXAMPLE, fleet


async def test_the_demo_converges_and_exits(tmp_path: Path) -> None:
    ended = await fleet(
        "demo", "--clusters", "5", "--exit-when-converged", "--listen", "127.0.0.1:0",
        "--state", str(tmp_path / "demo"), "--repo", str(EXAMPLE),
    )  # fmt: skip
    assert ended.code == 0, ended.err
    assert "first sync of" in ended.out
    assert "5/5 clusters ready" in ended.out
    # The change only touches what the prod target renders differently.
    written = next(line for line in ended.out.splitlines() if "written to:" in line)
    assert "sim-002 (prod" in written
    assert "sim-000" not in written
    assert "sim-001" not in written
    assert "untouched:  4 clusters" in ended.out


async def test_the_demo_needs_a_fleet_repository(tmp_path: Path) -> None:
    ended = await fleet("demo", "--repo", str(tmp_path), "--state", str(tmp_path / "demo"))
    assert ended.code == 2
    assert ended.err.strip().startswith("fleet: error: ")
    assert "no fleet.yaml here" in ended.err
    assert "Traceback" not in ended.err


async def test_a_rollout_leaves_no_waiter_pending() -> None:
    revision = Revision("0" * 40)
    views = [ClusterView(name=ClusterName("sim-000"), state=ClusterState.READY, revision=revision)]
    converged: Any = SimpleNamespace(
        controller=SimpleNamespace(board=SimpleNamespace(clusters=lambda: views)), url="-"
    )
    before = asyncio.all_tasks()
    assert await demo._rollout(
        converged, revision, show=demo._Printer(io.StringIO()), stop=signals.Stop(),
        limit=60, what="first sync",
    )  # fmt: skip
    assert asyncio.all_tasks() == before
