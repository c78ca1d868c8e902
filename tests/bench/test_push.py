"""The push-pipeline benchmark keeps working (its quick mode; no timing is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import push


def test_quick_mode_compares_kubectl_with_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert push.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "to 2 clusters, on one simulator (kubectl v1." in out
    assert "| `kubectl apply --server-side`, one cluster after another |" in out
    assert "| `kubectl apply --server-side`, 8 clusters at a time |" in out
    assert "| fleet: one commit and its webhook, until ready (rollouts done) |" in out
