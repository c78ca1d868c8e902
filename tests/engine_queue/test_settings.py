"""QueueSettings: the documented defaults hold, and a wrong value names its setting."""

from __future__ import annotations

import math

import pytest

from fleet.structs import errors
from fleet.structs.settings import QueueSettings


def test_defaults_follow_client_go_with_a_five_minute_cap() -> None:
    settings = QueueSettings()
    assert (settings.base_delay, settings.max_delay, settings.qps, settings.burst) == (
        0.005,
        300.0,
        10.0,
        100,
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("workers", 0, "queue.workers: must be at least 1, not 0"),
        ("base_delay", 0.0, "queue.base_delay: must be above 0, not 0.0"),
        ("max_delay", 0.001, "queue.max_delay: must be at least base_delay, not 0.001"),
        ("max_delay", math.inf, "queue.max_delay: must be at least base_delay, not inf"),
        ("jitter", 1.0, "queue.jitter: must be from 0 up to (not including) 1, not 1.0"),
        ("jitter", -0.1, "queue.jitter: must be from 0 up to (not including) 1, not -0.1"),
        ("qps", math.nan, "queue.qps: must be above 0, not nan"),
        ("burst", 0, "queue.burst: must be at least 1, not 0"),
        ("reconcile_timeout", -1.0, "queue.reconcile_timeout: must be above 0, not -1.0"),
        ("shutdown_grace", -1.0, "queue.shutdown_grace: must be 0 or more, not -1.0"),
    ],
)
def test_a_wrong_value_is_a_user_error_that_names_the_setting(
    field: str, value: float, message: str
) -> None:
    with pytest.raises(errors.UserError) as error:
        QueueSettings(**{field: value})  # type: ignore[arg-type]
    assert str(error.value) == message
