"""Records, filters and settings: the values the engine and the API hand to the store."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.settings import HistorySettings, Secret
from tests.store import records
from tests.store.conftest import NOW


def test_sync_totals_add_up_bundles_and_duration_is_derived() -> None:
    sync = records.sync(at=NOW, bundles=("base", "web", "db"))
    assert sync.totals == h.ObjectCounts(created=0 + 1 + 2, configured=3, unchanged=21)
    assert sync.duration == timedelta(seconds=2)
    assert records.sync(at=NOW, bundles=()).totals == h.ObjectCounts()


def test_records_get_distinct_ids_and_freeze_their_sequences() -> None:
    fields = ["spec.replicas"]
    first, second = records.sync(at=NOW), records.sync(at=NOW)
    assert first.id != second.id
    # Typed as a tuple, but a list at run time must not leave the record open to change.
    drift = dataclasses.replace(records.drift(at=NOW), fields=fields)  # type: ignore[arg-type]
    fields.append("data.password")
    assert drift.fields == ("spec.replicas",)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@git.example.com/fleet.git", "https://git.example.com/fleet.git"),
        ("https://ghp_token@github.com/org/fleet", "https://github.com/org/fleet"),
        ("https://github.com/org/fleet", "https://github.com/org/fleet"),
        ("git@github.com:org/fleet.git", "git@github.com:org/fleet.git"),
        ("git:secret@github.com:org/fleet.git", "github.com:org/fleet.git"),
        (
            "postgresql://fleet:pw@db:5432/history?password=pw&sslmode=require",
            "postgresql://db:5432/history?sslmode=require",
        ),
        ("/srv/git/fleet", "/srv/git/fleet"),
    ],
)
def test_urls_lose_their_credentials(url: str, expected: str) -> None:
    assert h.without_credentials(url) == expected


def test_revision_repository_is_stored_without_credentials() -> None:
    revision = records.revision(
        sha=records.SHA_A, at=NOW, repository="https://bot:s3cret@git.example.com/fleet.git"
    )
    assert revision.repository == "https://git.example.com/fleet.git"


def test_naive_times_are_refused() -> None:
    naive = datetime(2025, 3, 14, 12, 0)
    with pytest.raises(ValueError, match=r"^started_at must have a time zone"):
        records.sync(at=naive)
    with pytest.raises(errors.HistoryQueryError, match=r"^since: .* has no time zone"):
        h.SyncFilter(since=naive)


def test_settings_hide_the_database_url_from_repr() -> None:
    settings = HistorySettings(database_url=Secret("postgresql://fleet:hunter2@db/fleet"))
    assert "hunter2" not in repr(settings)
    assert "schema='fleet'" in repr(settings)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"schema": "Fleet"}, "history.schema"),
        ({"schema": "fleet; drop table syncs"}, "history.schema"),
        ({"batch_size": 0}, "history.batch_size"),
        ({"flush_interval": 0}, "history.flush_interval"),
        ({"buffer_size": 10, "batch_size": 100}, "history.buffer_size"),
        ({"database_url": Secret("mysql://db/fleet")}, "history.database_url"),
        ({"database_url": Secret("postgresql://db:port/fleet")}, "history.database_url"),
    ],
)
def test_settings_name_the_field_that_is_wrong(changes: dict[str, object], where: str) -> None:
    with pytest.raises(errors.UserError) as caught:
        HistorySettings(**changes)  # type: ignore[arg-type]
    assert caught.value.where == where
