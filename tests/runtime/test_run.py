"""`fleet run`: start-up errors as one line; a graceful stop in the middle of a rollout
that leaves history whole; a second signal that ends it at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fleet.cli import run
from fleet.runtime import running
from fleet.sim import serving
from fleet.structs.settings import Settings
from tests.runtime.conftest import fleet, start
from tests.support import database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def common(repository: Path, inventory: Path, tmp_path: Path) -> list[str]:
    return ["run", "--repo", str(repository), "--inventory", str(inventory),
            "--git-state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0"]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--repo", "/nonexistent/fleet.git"), "cannot fetch the repository"),
        (
            ("--inventory", "/nonexistent/inventory.yaml"),
            "/nonexistent/inventory.yaml: cannot be read",
        ),
        (("--workers", "zero"), "--workers: expected an integer, got 'zero'"),
        (("--queue-jitter", "2"), "--queue-jitter: must be from 0 up to (not including) 1"),
    ],
)
async def test_start_up_errors_are_one_line(
    change: tuple[str, str], message: str, repository: Path, inventory: Path, tmp_path: Path
) -> None:
    # A flag given twice: the later one (the broken value) wins, as argparse does.
    ended = await fleet(*common(repository, inventory, tmp_path), *change)
    assert ended.code == 2, ended
    lines = [line for line in ended.err.splitlines() if line.startswith("fleet: error:")]
    assert len(lines) == 1, ended.err
    assert message in lines[0], ended.err
    assert "Traceback" not in ended.err


async def test_a_port_in_use_is_one_line(repository: Path, inventory: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ended = await fleet(
            *common(repository, inventory, tmp_path), "--listen", f"127.0.0.1:{port}"
        )
    assert ended.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in ended.err
    assert "Traceback" not in ended.err


async def test_sigterm_mid_rollout_stops_gracefully_and_history_is_whole(
    sim: serving.Simulator, repository: Path, inventory: Path, tmp_path: Path
) -> None:
    async with database.fresh(database.database_url()) as db:
        process = await start(
            *common(repository, inventory, tmp_path), "--listen", f"127.0.0.1:{free_port()}",
            env={"FLEET_DATABASE_URL": db.url, "FLEET_HISTORY_SCHEMA": db.schema},
        )  # fmt: skip
        assert process.stderr is not None
        # Wait until the first sync has been reported, then stop while others still run.
        async with asyncio.timeout(60):
            async for line in process.stderr:
                if b"sync of" in line:
                    break
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            _, rest = await process.communicate()
        assert process.returncode == 0, rest.decode()
        assert b"fleet stopped" in rest
        syncs = await db.admin.fetch(
            f'SELECT cluster, result, finished_at FROM "{db.schema}".syncs'
        )
        assert syncs, "the syncs before the stop are in history"
        assert all(row["finished_at"] is not None and row["result"] for row in syncs)
        revisions = await db.count("revisions")
        assert revisions == 1


async def test_serve_leaves_no_waiter_pending_when_fleet_drains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In-process, with a fleet that ends at once: what matters is the moment the drain
    # starts, when `serve`'s own waiters must already be over.
    pending: list[set[asyncio.Task[Any]]] = []

    async def ended() -> None:
        return None

    @contextlib.asynccontextmanager
    async def fake_running(settings: Settings, *, environ: object) -> AsyncIterator[Any]:
        yield SimpleNamespace(
            clusters=SimpleNamespace(request_reload=lambda: None),
            url="http://127.0.0.1:0",
            ended=ended,
            lost_leadership=True,
        )
        current = asyncio.current_task()
        pending.append({task for task in asyncio.all_tasks() if task is not current})

    monkeypatch.setattr(running, "running", fake_running)
    assert await run.serve(Settings()) == 1
    assert pending == [set()]
