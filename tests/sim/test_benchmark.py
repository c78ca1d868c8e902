"""The simulator benchmark keeps working (its quick mode; the figures are not asserted)."""

from __future__ import annotations

import pytest

from benchmarks import __main__ as runner
from benchmarks import simulator


def test_quick_mode_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulator.main(["--quick", "--connections", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("`python -m benchmarks simulator --quick`: one `fleet sim` process, 20")
    for figure in (
        "memory (RSS) at start",
        "populate: server-side apply of 100 new objects",
        "memory (RSS) with 20 clusters x 5 objects",
        "CPU while idle",
        "server-side apply that changes nothing",
        "server-side apply that changes a value (a write)",
        "list of one namespace's ConfigMaps",
    ):
        assert f"| {figure}" in out
    assert out.count(", 0 errors) |") == 3


def test_each_cluster_gets_the_asked_number_of_objects() -> None:
    made = simulator.objects(20)
    assert len(made) == 20
    assert made[0][1]["kind"] == "Namespace"
    assert len({path for path, _ in made}) == 20


def test_the_runner_lists_the_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "simulator" in listed
    assert "Figures for the simulator" in listed
    assert runner.main(["nope"]) == 2
