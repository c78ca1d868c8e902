"""The Git mirror benchmark keeps working (its quick mode; the figures are not asserted)."""

from __future__ import annotations

import re

import pytest

from benchmarks import git_mirror


def test_quick_mode_prints_every_phase(capsys: pytest.CaptureFixture[str]) -> None:
    assert git_mirror.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("`python -m benchmarks git_mirror --quick`; ")
    assert "Git mirror, 20 bundles x 5 files (100 files), local remote" in out
    assert "| phase | time | peak RSS | peak above start | |" in out
    assert re.search(r"Peak above start: above the \d+ MiB resident just before the first", out)
    for phase in (
        "first fetch (cold)",
        "fetch after a one-file commit",
        "read every bundle (cold)",
        "read every bundle again (warm)",
        "read every bundle after the commit",
    ):
        assert f"| {phase} |" in out
    assert out.count("| 101 files |") == 4  # publish and three full reads: fleet.yaml + 100


def test_the_repository_has_the_asked_shape() -> None:
    tree = git_mirror.repository(3, 2)
    assert sorted(tree)[:3] == [
        "bundles/b0000/f00.yaml",
        "bundles/b0000/f01.yaml",
        "bundles/b0001/f00.yaml",
    ]
    assert len(tree) == 7
