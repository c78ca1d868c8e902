"""The sizing benchmark keeps working (its quick mode; no timing is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import sizing


def test_quick_mode_converges_both_shapes_with_one_write_per_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sizing.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| quick:")]
    assert [row[1] for row in rows] == ["100", "80"]
    # Per cluster: every object, an inventory per bundle and the fleet-system namespace.
    assert [row[6] for row in rows] == [str(5 * (5 * 4 + 5 + 1)), str(20 * 4 + 20 + 1)]
