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


@pytest.mark.parametrize(
    ("sizes", "message"),
    [("ten", "expected counts like 10,100,1000, not 'ten'"),
     ("10,0", "every count must be at least 1, not '10,0'")],
)  # fmt: skip
def test_bad_sizes_are_a_usage_error(
    sizes: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        fanout.main(["--clusters", sizes])
    assert ended.value.code == 2
    assert f"argument --clusters: {message}" in capsys.readouterr().err
