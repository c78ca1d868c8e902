"""Health per kind, from the table in `fixtures/health.yaml`."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from fleet.engine import health
from fleet.engine.health import Assessment, Health

TABLE = yaml.safe_load((pathlib.Path(__file__).parent / "fixtures" / "health.yaml").read_text())


@pytest.mark.parametrize("case", [pytest.param(case, id=case["case"]) for case in TABLE])
def test_assess(case: dict[str, Any]) -> None:
    assert health.assess(case["object"]) == Assessment(Health(case["health"]), case["message"])


def test_every_kind_with_a_rule_has_cases() -> None:
    judged = {
        (str(c["object"]["apiVersion"]).rpartition("/")[0], c["object"]["kind"])
        for c in TABLE
        if c["object"] is not None
    }
    assert set(health.RULES) <= judged


def test_a_long_reason_is_cut() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "status": {
            "conditions": [
                {"type": "Failed", "status": "True", "reason": "R", "message": "x" * 1000}
            ]
        },
    }
    assessed = health.assess(job)
    assert assessed.health is Health.DEGRADED
    assert assessed.message == "failed: " + ("R: " + "x" * 1000)[:300]


@pytest.mark.parametrize(
    ("healths", "worst"),
    [
        ([], Health.HEALTHY),
        ([Health.HEALTHY, Health.HEALTHY], Health.HEALTHY),
        ([Health.HEALTHY, Health.PROGRESSING], Health.PROGRESSING),
        ([Health.MISSING, Health.PROGRESSING], Health.MISSING),
        ([Health.DEGRADED, Health.MISSING, Health.HEALTHY], Health.DEGRADED),
    ],
)
def test_worst(healths: list[Health], worst: Health) -> None:
    assert health.worst(healths) is worst
    assert health.worst(iter(reversed(healths))) is worst


def test_an_assessment_shows_what_it_is() -> None:
    assert repr(health.HEALTHY) == "Assessment(health=<Health.HEALTHY: 'healthy'>, message='')"
