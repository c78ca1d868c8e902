"""Fixtures of the runtime's tests: `fleet run` and `fleet demo` as processes, against a
simulator in the test process and a repository on disk."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet.sim import serving
from fleet.sources import publishing
from tests.support import simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "clusters"
TIMEOUT = 120


@dataclass(frozen=True, slots=True)
class Ended:
    code: int
    out: str
    err: str


async def fleet(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Ended:
    """Run the `fleet` command to its end."""
    process = await start(*args, cwd=cwd, env=env)
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    assert process.returncode is not None
    return Ended(process.returncode, out.decode(), err.decode())


_STARTED: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
async def _no_process_left_behind() -> AsyncIterator[None]:
    """Kill what a failed test left running (a passing test has waited for it)."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.returncode is None:
            process.kill()
            await process.wait()


async def start(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start the `fleet` command (the caller waits for it, or signals it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleet", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )  # fmt: skip
    _STARTED.append(process)
    return process


@pytest.fixture
async def sim() -> AsyncIterator[serving.Simulator]:
    async with simulator.running(clusters=3, rollout_delay=0.2) as running:
        yield running


@pytest.fixture
async def inventory(sim: serving.Simulator, tmp_path: Path) -> Path:
    return await sim.write_files(tmp_path / "sim")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """The example fleet, published as a bare repository."""
    path = tmp_path / "fleet.git"
    publishing.publish_directory(path, directory=EXAMPLE, message="example")
    return path
