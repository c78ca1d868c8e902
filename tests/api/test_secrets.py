"""No answer and no log line holds the API token, the webhook secret or the database
password, whatever is asked; the access log redacts credential-like query values."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from fleet.api import openapi
from fleet.store import opening
from fleet.structs import history as h
from fleet.structs.settings import ApiSettings, Secret, Settings
from tests.api.conftest import TOKEN, WEBHOOK_SECRET, Serve
from tests.support import database as db

DATABASE_PASSWORD = "db-passw0rd-never-shown"


@pytest.fixture
async def store_with_password() -> AsyncIterator[h.HistoryStore]:
    """A PostgreSQL store whose URL holds a password (trust authentication ignores it)."""
    async with db.fresh(db.database_url()) as database:
        parts = urllib.parse.urlsplit(database.url)
        user = parts.username or "postgres"
        netloc = f"{user}:{DATABASE_PASSWORD}@{parts.hostname}:{parts.port or 5432}"
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        store = opening.history_store(
            database.settings(database_url=url), registry=CollectorRegistry()
        )
        await store.start()
        yield store
        await store.close()


def _concrete(path: str) -> str:
    return path.replace("{name}", "eu-1" if "clusters" in path else "web")


async def test_no_secret_in_any_answer_or_log(
    serve: Serve, store_with_password: h.HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = (TOKEN, WEBHOOK_SECRET, DATABASE_PASSWORD)
    client = (await serve(store=store_with_password, token=TOKEN)).client
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for path, operations in openapi.document()["paths"].items():
            for method in operations:
                answer = await client.request(method.upper(), _concrete(path), check=False)
                seen += [answer.body.decode(errors="replace"), str(answer.headers)]
        # A token sent where it does not belong is refused without being repeated.
        answer = await client.get("/api/v1/syncs", token=TOKEN)
        seen.append(answer.body.decode())
        wrong = await client.post("/api/v1/clusters/eu-1/sync", token=TOKEN[:-1] + "?")
        seen.append(wrong.body.decode())
    seen.append(caplog.text)
    assert len(seen) > 30
    for secret in secrets:
        for text in seen:
            assert secret not in text


async def test_the_access_log_redacts_credentials_in_query_strings(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    client = (await serve()).client
    with caplog.at_level(logging.INFO, logger="fleet.api.access"):
        await client.get("/api/v1/syncs", cluster="eu-1", token="hunter2", api_key="k3y")
        await client.request("GET", "/api/v1/clusters/%0Aforged%20line")
    lines = [r.getMessage() for r in caplog.records if r.name == "fleet.api.access"]
    assert len(lines) == 2
    assert "hunter2" not in caplog.text
    assert "k3y" not in caplog.text
    assert '"GET /api/v1/syncs?cluster=eu-1&token=***&api_key=***" 400' in lines[0]
    assert "\n" not in lines[1]
    assert '"GET /api/v1/clusters/%0Aforged%20line" 404' in lines[1]


def test_settings_never_show_the_token() -> None:
    settings = Settings(api=ApiSettings(token=Secret(TOKEN)))
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.api)
