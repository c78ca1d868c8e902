"""The drift benchmark keeps working (its quick mode; no timing is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import drift


def test_quick_mode_sees_every_edit_reverted_and_recorded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert drift.main(["--quick"]) == 0
    out = capsys.readouterr().out
    (row,) = (line for line in out.splitlines() if line.startswith("| 6 | 3 |"))
    assert row.rstrip(" |").endswith("| 6")  # drift records naming kubectl-edit
