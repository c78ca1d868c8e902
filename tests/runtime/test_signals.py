"""Signals: the first SIGTERM asks for a graceful stop, a second one exits at once, SIGHUP
asks for an inventory reload."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from fleet.runtime import signals


async def test_first_signal_stops_second_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    exited = asyncio.Event()

    def exit_now(code: int) -> None:
        exits.append(code)
        exited.set()

    monkeypatch.setattr(os, "_exit", exit_now)
    with signals.Stop() as stop:
        assert repr(stop) == "Stop(running)"
        os.kill(os.getpid(), signal.SIGTERM)
        async with asyncio.timeout(5):
            await stop.wait()
        assert repr(stop) == "Stop(stopping)"
        assert exits == []
        os.kill(os.getpid(), signal.SIGINT)
        async with asyncio.timeout(5):
            await exited.wait()
    assert exits == [1]


async def test_sighup_asks_for_a_reload() -> None:
    reloaded = asyncio.Event()
    with signals.Stop(on_reload=reloaded.set) as stop:
        os.kill(os.getpid(), signal.SIGHUP)
        async with asyncio.timeout(5):
            await reloaded.wait()
        assert repr(stop) == "Stop(running)"
