"""The informers benchmark keeps working (its quick mode; the figures are not asserted)."""

from __future__ import annotations

import pytest

from benchmarks import informers


def test_quick_mode_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert informers.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("`python -m benchmarks informers --quick`: one `fleet sim --plain-http`")
    for figure in (
        "start 20 clients, 6 informers each, until every cache synced",
        "fleet's CPU time until then (requests made)",
        "objects cached (20 clusters x 6) | 120 |",
        "memory per cluster",
        "watch connections open (fleet's count / sockets held) | 120 / 120 |",
        "CPU while idle",
        "requests while idle for 1 s | none |",
        "stop every client",
    ):
        assert f"| {figure}" in out
