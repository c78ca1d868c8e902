"""Creates, updates and patches: who owns what afterwards."""

from __future__ import annotations

from fleet.sim import ownership
from tests.sim_ownership.conftest import Case


def test_update(update_case: Case) -> None:
    assert update_case.new is not None
    updated = ownership.update(
        old=update_case.live,
        new=update_case.new,
        manager=update_case.manager,
        now=update_case.now,
        subresource=update_case.subresource,
    )
    assert updated["metadata"].get("managedFields") == update_case.expect["managedFields"]
    without = {
        name: value for name, value in updated["metadata"].items() if name != "managedFields"
    }
    sent = {
        name: value
        for name, value in update_case.new["metadata"].items()
        if name != "managedFields"
    }
    assert {**updated, "metadata": without} == {**update_case.new, "metadata": sent}
