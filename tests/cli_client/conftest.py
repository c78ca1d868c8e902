"""`fleet status` and `fleet sync` against the real API server over a fake fleet.

The API fixtures of tests/api serve here too. The command runs in a worker thread
(`run_fleet`), because it starts its own event loop with `asyncio.run` while the
server keeps answering on the test's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from fleet import cli
from tests.api.conftest import history, serve  # noqa: F401 -- fixtures used here too

RunFleet = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def run_fleet(capsys: pytest.CaptureFixture[str]) -> RunFleet:
    """Runs ``fleet ARGS...``; returns the exit status, stdout and stderr."""

    async def run(*args: str) -> tuple[int, str, str]:
        status = await asyncio.to_thread(cli.main, list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
