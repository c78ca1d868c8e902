"""ClientSettings: the documented defaults hold, and a wrong value names its setting."""

from __future__ import annotations

import math

import pytest

from fleet.structs import errors
from fleet.structs.settings import ClientSettings


def test_defaults() -> None:
    settings = ClientSettings()
    assert (settings.qps, settings.burst, settings.request_timeout) == (50.0, 100, 30.0)
    assert (settings.watch_timeout_min, settings.watch_timeout_max) == (300.0, 600.0)
    assert (settings.reconnect_initial, settings.reconnect_max) == (0.8, 30.0)
    assert settings.managed_selector == "app.kubernetes.io/managed-by=fleet"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("qps", 0.0, "clients.qps: must be above 0, not 0.0"),
        ("qps", math.nan, "clients.qps: must be above 0, not nan"),
        ("burst", 0, "clients.burst: must be at least 1, not 0"),
        ("request_timeout", -1.0, "clients.request_timeout: must be above 0, not -1.0"),
        ("retries", -1, "clients.retries: must be 0 or more, not -1"),
        ("retry_max", 0.1, "clients.retry_max: must be at least retry_initial, not 0.1"),
        ("list_page_size", 0, "clients.list_page_size: must be at least 1, not 0"),
        ("watch_timeout_min", 0.5, "clients.watch_timeout_min: must be at least 1, not 0.5"),
        ("watch_timeout_max", 100.0,
         "clients.watch_timeout_max: must be at least watch_timeout_min, not 100.0"),
        ("reconnect_max", math.inf, "clients.reconnect_max: must be at least reconnect_initial,"
         " not inf"),
        ("reconnect_jitter", 1.0,
         "clients.reconnect_jitter: must be from 0 up to (not including) 1, not 1.0"),
        ("inventory_poll_interval", -1.0, "clients.inventory_poll_interval: must be 0 or more"),
        ("managed_selector", " ", "clients.managed_selector: must not be empty"),
    ],
)  # fmt: skip
def test_a_wrong_value_is_a_user_error_that_names_the_setting(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(errors.UserError) as raised:
        ClientSettings(**{field: value})  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)
