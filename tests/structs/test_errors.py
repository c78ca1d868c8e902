"""Errors say where, and whether retrying can help."""

import pytest

from fleet.structs import errors


@pytest.mark.parametrize(
    ("code", "retryable"),
    [(400, False), (403, False), (404, False), (409, True), (422, False), (429, True), (503, True)],
)
def test_api_errors_are_retried_only_when_waiting_can_help(code: int, retryable: bool) -> None:
    error = errors.ApiError("refused", cluster="eu-1", code=code, reason="Whatever")
    assert error.retryable is retryable


def test_cluster_errors_lead_with_the_cluster() -> None:
    assert str(errors.ClusterError("connection refused", cluster="eu-1")) == (
        "cluster eu-1: connection refused"
    )
    assert errors.ClusterError("down", cluster="eu-1").retryable
