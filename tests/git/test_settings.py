"""The git and webhook setting groups refuse values that cannot work, naming the field."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest

from fleet.structs import errors
from fleet.structs.settings import GitSettings, Secret, WebhookSettings


@pytest.mark.parametrize(
    ("build", "where", "rule"),
    [
        (lambda: GitSettings(poll_interval=0), "git.poll_interval", "above 0"),
        (lambda: GitSettings(poll_jitter=1.0), "git.poll_jitter", "from 0 up to"),
        (lambda: GitSettings(fetch_timeout=math.nan), "git.fetch_timeout", "above 0"),
        (lambda: GitSettings(backoff_cap=0.5), "git.backoff_cap", "at least backoff_base"),
        (lambda: GitSettings(max_file_bytes=0), "git.max_file_bytes", "above 0"),
        (lambda: GitSettings(read_cache_bytes=-1), "git.read_cache_bytes", "0 or more"),
        (lambda: WebhookSettings(max_body_bytes=0), "webhook.max_body_bytes", "above 0"),
        (lambda: WebhookSettings(read_timeout=math.inf), "webhook.read_timeout", "above 0"),
    ],
)
def test_impossible_values_are_user_errors(
    build: Callable[[], object], where: str, rule: str
) -> None:
    with pytest.raises(errors.UserError, match=f"^{re.escape(where)}: must be {rule}"):
        build()


def test_defaults_are_valid_and_secrets_stay_hidden() -> None:
    settings = GitSettings(http_password=Secret("tok-123"))
    assert "tok-123" not in repr(settings)
    assert settings.http_password == Secret("tok-123") != Secret("other")
    assert WebhookSettings().secret is None
