"""History through HTTP, against both stores: every filter, pages followed by their
``next`` link, delivery metrics, the store's status, and errors (400 naming the
parameter, 503)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from fleet.api import encoding
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.objects import ObjectKey, Revision
from tests.api.conftest import Client, Serve
from tests.store import records

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
CONFIGMAP = ObjectKey("", "ConfigMap", "shop", "settings")
PLUS_TWO = timezone(timedelta(hours=2))
FAILED = h.SyncResult.FAILED

SYNCS = [
    records.sync(
        cluster=("eu-1", "us-1", "dev-1")[n % 3],
        at=BASE + timedelta(minutes=n),
        revision=records.SHA_A if n < 8 else records.SHA_B,
        result=h.SyncResult.FAILED if n % 4 == 0 else h.SyncResult.SUCCEEDED,
        trigger=h.SyncTrigger.DRIFT if n % 5 == 0 else h.SyncTrigger.COMMIT,
        bundles=("base", "web") if n % 2 == 0 else ("base",),
    )
    for n in range(12)
]
DRIFT = [
    records.drift(
        cluster=("eu-1", "us-1")[n % 2],
        at=BASE + timedelta(minutes=n),
        bundle="web" if n < 4 else "base",
        key=records.DEPLOYMENT if n % 3 else CONFIGMAP,
        manager=("kubectl-edit", "helm", None)[n % 3],
        action=h.DriftAction.OBSERVED if n == 5 else h.DriftAction.REVERTED,
    )
    for n in range(7)
]
REVISIONS = [
    records.revision(
        sha=Revision(f"{n:040x}"),
        at=BASE + timedelta(hours=n),
        ref="refs/heads/main" if n % 2 else "refs/tags/v1",
        repository=records.REPOSITORY if n < 4 else "https://git.example.com/other.git",
    )
    for n in range(6)
]


@pytest.fixture
async def filled(both_backends: h.HistoryStore, serve: Serve) -> Client:
    await records.keep(both_backends, syncs=SYNCS, drift=DRIFT, revisions=REVISIONS)
    return (await serve(store=both_backends)).client


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


SYNC_CASES: list[tuple[dict[str, str], Callable[[h.SyncRecord], bool]]] = [
    ({}, lambda s: True),
    ({"cluster": "eu-1"}, lambda s: s.cluster == "eu-1"),
    ({"bundle": "web"}, lambda s: any(b.name == "web" for b in s.bundles)),
    ({"revision": records.SHA_B}, lambda s: s.revision == records.SHA_B),
    ({"revision": records.SHA_B.upper()}, lambda s: s.revision == records.SHA_B),
    ({"result": "failed"}, lambda s: s.result is h.SyncResult.FAILED),
    ({"trigger": "drift"}, lambda s: s.trigger is h.SyncTrigger.DRIFT),
    (
        {"since": _iso(BASE + timedelta(minutes=3)), "until": _iso(BASE + timedelta(minutes=7))},
        lambda s: BASE + timedelta(minutes=3) <= s.finished_at < BASE + timedelta(minutes=7),
    ),
    (
        {"since": (BASE + timedelta(minutes=9)).astimezone(PLUS_TWO).isoformat()},
        lambda s: s.finished_at >= BASE + timedelta(minutes=9),
    ),
    (
        {"cluster": "us-1", "result": "succeeded", "bundle": "base"},
        lambda s: s.cluster == "us-1" and s.result is h.SyncResult.SUCCEEDED,
    ),
    ({"cluster": "nowhere"}, lambda s: False),
]


@pytest.mark.parametrize(("params", "wanted"), SYNC_CASES)
async def test_syncs_filters(
    filled: Client, params: dict[str, str], wanted: Callable[[h.SyncRecord], bool]
) -> None:
    answer = await filled.get("/api/v1/syncs", **params)
    assert answer.status == 200, answer
    expected = [str(s.id) for s in sorted(SYNCS, key=lambda s: s.finished_at, reverse=True)]
    expected = [i for i in expected if wanted(next(s for s in SYNCS if str(s.id) == i))]
    assert [item["id"] for item in answer.json()["items"]] == expected
    assert answer.json()["next"] is None


async def test_a_sync_as_json(filled: Client) -> None:
    newest = max(SYNCS, key=lambda s: s.finished_at)
    item = (await filled.get("/api/v1/syncs", limit="1")).json()["items"][0]
    assert item == {
        "id": str(newest.id),
        "cluster": newest.cluster,
        "revision": newest.revision,
        "trigger": "commit",
        "result": "succeeded",
        "started_at": _iso(newest.started_at),
        "finished_at": _iso(newest.finished_at),
        "duration_seconds": 2.0,
        "error": None,
        "trace_id": newest.trace_id,
        "counts": {  # one bundle (the newest sync is odd-numbered)
            "created": 0,
            "configured": 1,
            "unchanged": 7,
            "deleted": 0,
            "skipped": 0,
            "failed": 0,
        },
        "bundles": [
            {
                "name": bundle.name,
                "revision": bundle.revision,
                "result": "succeeded",
                "counts": {
                    "created": bundle.counts.created,
                    "configured": 1,
                    "unchanged": 7,
                    "deleted": 0,
                    "skipped": 0,
                    "failed": 0,
                },
                "error": None,
            }
            for bundle in newest.bundles
        ],
    }


DRIFT_CASES: list[tuple[dict[str, str], Callable[[h.DriftRecord], bool]]] = [
    ({}, lambda d: True),
    ({"cluster": "us-1"}, lambda d: d.cluster == "us-1"),
    ({"bundle": "web"}, lambda d: d.bundle == "web"),
    ({"kind": "ConfigMap"}, lambda d: d.key.kind == "ConfigMap"),
    ({"namespace": "shop", "name": "web"}, lambda d: d.key == records.DEPLOYMENT),
    ({"fieldManager": "helm"}, lambda d: d.field_manager == "helm"),
    ({"action": "observed"}, lambda d: d.action is h.DriftAction.OBSERVED),
    (
        {"until": _iso(BASE + timedelta(minutes=2))},
        lambda d: d.observed_at < BASE + timedelta(minutes=2),
    ),
]


@pytest.mark.parametrize(("params", "wanted"), DRIFT_CASES)
async def test_drift_filters(
    filled: Client, params: dict[str, str], wanted: Callable[[h.DriftRecord], bool]
) -> None:
    answer = await filled.get("/api/v1/drift", **params)
    assert answer.status == 200, answer
    expected = [
        str(d.id) for d in sorted(DRIFT, key=lambda d: d.observed_at, reverse=True) if wanted(d)
    ]
    assert [item["id"] for item in answer.json()["items"]] == expected


async def test_a_drift_as_json_names_fields_never_values(filled: Client) -> None:
    item = (await filled.get("/api/v1/drift", limit="1")).json()["items"][0]
    newest = max(DRIFT, key=lambda d: d.observed_at)
    assert item["object"] == {
        "group": "",
        "kind": "ConfigMap",
        "namespace": "shop",
        "name": "settings",
    }
    assert item["fields"] == list(newest.fields)
    assert (item["field_manager"], item["operation"], item["action"]) == (
        "kubectl-edit",
        "update",
        "reverted",
    )


REVISION_CASES: list[tuple[dict[str, str], Callable[[h.RevisionRecord], bool]]] = [
    ({}, lambda r: True),
    ({"repository": records.REPOSITORY}, lambda r: r.repository == records.REPOSITORY),
    (
        {"repository": "https://user:hunter2@git.example.com/platform/fleet.git"},
        lambda r: r.repository == records.REPOSITORY,
    ),
    ({"ref": "refs/tags/v1"}, lambda r: r.ref == "refs/tags/v1"),
    (
        {"since": _iso(BASE + timedelta(hours=3))},
        lambda r: r.committed_at >= BASE + timedelta(hours=3),
    ),
]


@pytest.mark.parametrize(("params", "wanted"), REVISION_CASES)
async def test_revisions_filters(
    filled: Client, params: dict[str, str], wanted: Callable[[h.RevisionRecord], bool]
) -> None:
    answer = await filled.get("/api/v1/revisions", **params)
    assert answer.status == 200, answer
    expected = [
        r.sha for r in sorted(REVISIONS, key=lambda r: r.committed_at, reverse=True) if wanted(r)
    ]
    assert [item["sha"] for item in answer.json()["items"]] == expected


@pytest.mark.parametrize(
    ("path", "params", "total"),
    [
        ("/api/v1/syncs", {}, len(SYNCS)),
        ("/api/v1/syncs", {"bundle": "base"}, len(SYNCS)),
        ("/api/v1/drift", {"cluster": "eu-1"}, 4),
        ("/api/v1/revisions", {}, len(REVISIONS)),
    ],
)
async def test_following_next_links_visits_every_row_once(
    filled: Client, path: str, params: dict[str, str], total: int
) -> None:
    seen: list[str] = []
    answer = await filled.get(path, limit="5", **params)
    pages = 1
    while True:
        body = answer.json()
        seen += [item.get("id") or item["sha"] for item in body["items"]]
        if body["next"] is None:
            assert body["next_cursor"] is None
            break
        assert f"cursor={body['next_cursor']}" in body["next"]
        answer = await filled.request("GET", body["next"])
        pages += 1
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 5)


BAD_QUERIES = [
    ("/api/v1/syncs", {"clustr": "eu-1"}, "'clustr': unknown parameter"),
    ("/api/v1/syncs", {"limit": "0"}, "limit: must be an integer from 1 to 1000"),
    ("/api/v1/syncs", {"limit": "1001"}, "limit: must be an integer from 1 to 1000"),
    ("/api/v1/syncs", {"limit": "ten"}, "limit: must be an integer"),
    ("/api/v1/syncs", {"result": "won"}, "result: must be one of succeeded, failed"),
    ("/api/v1/syncs", {"trigger": ""}, "trigger: is empty"),
    ("/api/v1/syncs", {"revision": "abc123"}, "revision: must be a full commit SHA"),
    ("/api/v1/syncs", {"since": "yesterday"}, "since: must be a time such as"),
    (
        "/api/v1/syncs",
        {"since": "2030-01-01T00:00:00"},
        "since: '2030-01-01T00:00:00' has no time zone",
    ),
    (
        "/api/v1/syncs",
        {"until": "2030-01-01T00:00:00 02:00"},
        "until: must be a time such as 2025-01-31T12:00:00Z; got '2030-01-01T00:00:00 02:00';"
        " a '+' in a URL reads as a space, write %2B or use Z",
    ),
    (
        "/api/v1/syncs",
        {"since": "0001-01-01T00:00:00+14:00"},
        "since: '0001-01-01T00:00:00+14:00' is out of range",
    ),
    (
        "/api/v1/syncs",
        {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
        "since: must be before until",
    ),
    ("/api/v1/syncs", {"cursor": "not-a-cursor"}, "cursor: this cursor cannot continue /syncs"),
    ("/api/v1/syncs", {"cluster": "eu\x001"}, "cluster: contains control characters"),
    ("/api/v1/syncs", {"cluster": "x" * 300}, "cluster: is longer than 253 characters"),
    ("/api/v1/drift", {"action": "ignored"}, "action: must be one of reverted, observed"),
    ("/api/v1/drift", {"field_manager": "helm"}, "'field_manager': unknown parameter"),
    ("/api/v1/revisions", {"cluster": "eu-1"}, "'cluster': unknown parameter"),
    ("/api/v1/history", {"verbose": "1"}, "'verbose': unknown parameter"),
]


@pytest.mark.parametrize(("path", "params", "message"), BAD_QUERIES)
async def test_bad_queries_are_400_naming_the_parameter(
    filled: Client, path: str, params: dict[str, str], message: str
) -> None:
    answer = await filled.get(path, **params)
    assert answer.status == 400
    assert answer.json()["error"] == "bad_request"
    assert answer.json()["message"].startswith(message), answer.json()["message"]


async def test_a_cursor_of_another_endpoint_is_refused(filled: Client) -> None:
    cursor = (await filled.get("/api/v1/drift", limit="1")).json()["next_cursor"]
    answer = await filled.get("/api/v1/syncs", cursor=cursor)
    assert answer.status == 400
    assert "does not belong to /syncs" in answer.json()["message"]


async def test_a_parameter_given_twice_is_refused(filled: Client) -> None:
    answer = await filled.request("GET", "/api/v1/syncs?cluster=a&cluster=b")
    assert answer.status == 400
    assert answer.json()["message"] == "cluster: given more than once"


async def test_history_status_says_which_backend(
    both_backends: h.HistoryStore, serve: Serve
) -> None:
    client = (await serve(store=both_backends)).client
    answer = await client.get("/api/v1/history")
    assert answer.status == 200
    body = answer.json()
    assert body["backend"] == str(both_backends.status().backend)
    assert (body["buffered"], body["dropped"]) == (0, 0)
    if body["backend"] == "memory":
        assert body["location"] is None
    else:
        assert body["location"].startswith("postgresql://")
    fleet = (await client.get("/api/v1/fleet")).json()
    assert fleet["history"] == body


class UnavailableHistory:
    """A store whose database is away: every query raises, the status says so."""

    def __init__(self, inner: h.HistoryStore) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return "UnavailableHistory()"

    def status(self) -> h.HistoryStatus:
        return dataclasses.replace(
            self._inner.status(), connected=False, buffered=42, last_error="connection refused"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("list_") or name == "delivery_metrics":

            async def unavailable(*args: object, **kwargs: object) -> None:
                raise errors.HistoryUnavailableError("database 127.0.0.1:5432: connection refused")

            return unavailable
        return getattr(self._inner, name)


@pytest.mark.parametrize(
    "path", ["/api/v1/syncs", "/api/v1/drift", "/api/v1/revisions", "/api/v1/delivery"]
)
async def test_a_database_that_is_away_is_503(
    history: h.HistoryStore, serve: Serve, path: str
) -> None:
    client = (await serve(store=UnavailableHistory(history))).client
    answer = await client.get(path)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json() == {
        "error": "unavailable",
        "message": "history is unavailable: database 127.0.0.1:5432: connection refused",
    }
    status = (await client.get("/api/v1/history")).json()
    assert (status["connected"], status["buffered"]) == (False, 42)


def test_every_count_of_a_sync_is_encoded() -> None:
    assert tuple(f.name for f in dataclasses.fields(h.ObjectCounts)) == encoding.COUNTED


R1, R2 = Revision("1" * 40), Revision("2" * 40)
DELIVERED = [
    records.sync(cluster="eu-1", at=BASE, revision=R1),
    records.sync(cluster="eu-1", at=BASE + timedelta(minutes=5), revision=R2, result=FAILED),
    records.sync(cluster="eu-1", at=BASE + timedelta(minutes=9), revision=R2),
    records.sync(cluster="us-1", at=BASE + timedelta(minutes=2), revision=R1),
]
COMMITS = [
    records.revision(sha=R1, at=BASE - timedelta(minutes=60)),
    records.revision(sha=R2, at=BASE - timedelta(minutes=30)),
]
DAY_OF_DELIVERY = {"since": _iso(BASE), "until": _iso(BASE + timedelta(days=1))}


@pytest.fixture
async def delivered(both_backends: h.HistoryStore, serve: Serve) -> Client:
    await records.keep(both_backends, syncs=DELIVERED, revisions=COMMITS)
    return (await serve(store=both_backends)).client


def _figures(**changes: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "cluster": None,
        "bundle": None,
        "deployments": 0,
        "deployments_per_day": 0.0,
        "lead_times": 0,
        "lead_time_seconds": None,
        "failed_deployments": 0,
        "change_failure_rate": None,
        "restored": 0,
        "time_to_restore_seconds": None,
    }
    return {**figures, **changes}


async def test_delivery_metrics_per_cluster(delivered: Client) -> None:
    answer = await delivered.get("/api/v1/delivery", by="cluster", **DAY_OF_DELIVERY)
    assert answer.status == 200, answer
    # eu-1 deploys R1 (lead 60 min), fails at 5 on R2, and deploys R2 at 9 (lead 39 min);
    # us-1 deploys R1 at 2 (lead 62 min).
    assert answer.json() == {
        "unit": "cluster",
        **DAY_OF_DELIVERY,
        "cluster": None,
        "bundle": None,
        "by": "cluster",
        "total": _figures(
            deployments=3,
            deployments_per_day=3.0,
            lead_times=3,
            lead_time_seconds=60 * 60.0,
            failed_deployments=1,
            change_failure_rate=1 / 3,
            restored=1,
            time_to_restore_seconds=4 * 60.0,
        ),
        "groups": [
            _figures(
                cluster="eu-1",
                deployments=2,
                deployments_per_day=2.0,
                lead_times=2,
                lead_time_seconds=(60 + 39) / 2 * 60,
                failed_deployments=1,
                change_failure_rate=0.5,
                restored=1,
                time_to_restore_seconds=4 * 60.0,
            ),
            _figures(
                cluster="us-1",
                deployments=1,
                deployments_per_day=1.0,
                lead_times=1,
                lead_time_seconds=62 * 60.0,
                change_failure_rate=0.0,
            ),
        ],
    }


async def test_delivery_metrics_of_one_bundle(delivered: Client) -> None:
    answer = await delivered.get("/api/v1/delivery", bundle="web", cluster="us-1")
    assert answer.status == 200, answer
    body = answer.json()
    assert (body["unit"], body["bundle"], body["cluster"], body["groups"]) == (
        "bundle",
        "web",
        "us-1",
        [],
    )
    assert body["total"]["deployments"] == 1


async def test_delivery_defaults_to_the_last_30_days(delivered: Client) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    body = (await delivered.get("/api/v1/delivery")).json()
    after = datetime.now(UTC)
    since, until = datetime.fromisoformat(body["since"]), datetime.fromisoformat(body["until"])
    assert before <= until <= after
    assert until - since == timedelta(days=30)
    assert body["total"]["deployments"] == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"by": "team"}, "by: must be one of cluster, bundle"),
        ({"limit": "10"}, "'limit': unknown parameter"),
        ({"since": "2999-01-01T00:00:00Z"}, "since: must be before until"),
        (
            {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
            "since: must be before until",
        ),
        ({"until": "tomorrow"}, "until: must be a time such as"),
        ({"cluster": ""}, "cluster: is empty"),
        ({"until": "0001-01-02T00:00:00Z"}, "until: is too early to count 30 days back"),
    ],
)
async def test_bad_delivery_queries_are_400_naming_the_parameter(
    history: h.HistoryStore, serve: Serve, params: dict[str, str], message: str
) -> None:
    answer = await (await serve(store=history)).client.get("/api/v1/delivery", **params)
    assert answer.status == 400
    assert answer.json()["message"].startswith(message), answer.json()["message"]
