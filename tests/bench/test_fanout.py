"""The fan-out benchmark keeps working (its quick mode; no timing is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import fanout


def test_quick_mode_rolls_out_and_idles_without_writes_or_lists(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fanout.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("`python -m benchmarks fanout --quick`; ")
    rollout, idle = (line for line in out.splitlines() if line.startswith("| 3 |"))
    # The commit changes one Deployment per bundle, and no bundle's set of objects (so
    # no inventory is written): two writes per cluster.
    assert rollout.split(" | ")[6] == "2.0"
    assert idle.split(" | ")[3:5] == ["0", "0"]  # writes, lists
