"""Without a database the store tests fail, saying which URL they tried and how to fix it."""

from __future__ import annotations

import pytest

from tests.support import database as db


async def test_an_unreachable_database_fails_the_test_and_never_skips_it(closed_port: int) -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{closed_port}/test"
    with pytest.raises(pytest.fail.Exception) as caught:
        async with db.fresh(url):
            pytest.fail("unreachable: the database should not have been reached")
    message = str(caught.value)
    assert f"postgresql://127.0.0.1:{closed_port}/test is not reachable" in message
    assert "ConnectionRefusedError" in message
    assert "set FLEET_TEST_DATABASE_URL" in message
    assert "hunter2" not in message


def test_the_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_TEST_DATABASE_URL", raising=False)
    assert db.database_url() == "postgresql://postgres@127.0.0.1:5432/test"
    monkeypatch.setenv("FLEET_TEST_DATABASE_URL", "postgresql://ci@db:5433/fleet")
    assert db.database_url() == "postgresql://ci@db:5433/fleet"
