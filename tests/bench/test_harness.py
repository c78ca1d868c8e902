"""The rig's arithmetic, tables and command line."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import __main__ as runner
from benchmarks import harness


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert harness.percentile(values, 0.5) == 50.0
    assert harness.percentile(values, 0.99) == 99.0
    assert harness.percentile([3.0], 0.99) == 3.0


def test_requests_are_summed_over_clusters_without_zeros() -> None:
    counters = {"a": {"apply": 2, "list": 0, "writes": 2}, "b": {"apply": 1, "watch": 3}}
    assert harness.requests_by_verb(counters) == {"apply": 3, "watch": 3, "writes": 2}


def test_tables_align_figures_right() -> None:
    assert harness.table(["what", "n"], [["x", "1"]]).splitlines() == [
        "| what | n |", "| --- | ---: |", "| x | 1 |",
    ]  # fmt: skip


def test_the_runner_refuses_an_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--fast"]) == 2
    assert "unknown option '--fast'" in capsys.readouterr().err


def test_the_command_line_is_the_one_that_ran() -> None:
    assert harness.command("drift", ["--quick"]) == "python -m benchmarks drift --quick"
    assert harness.command("push", []) == "python -m benchmarks push"


@pytest.mark.parametrize(
    ("text", "message"), [("0", "must be above 0, not '0'"), ("x", "expected a number, not 'x'")]
)
def test_counts_and_rates_must_be_positive_numbers(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        harness.positive(int)(text)
    assert harness.positive(float)("0.5") == 0.5
