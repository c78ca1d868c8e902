"""Watch over HTTP: replay, 410 Gone, bookmarks, timeouts, selectors, slow and cut watches."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import pytest

from fleet.sim import faults, resources, selectors, serving, storage, watching
from tests.support.simulator import ApiSession, running

CMS = "/api/v1/namespaces/default/configmaps"


async def create(api: ApiSession, name: str, labels: dict[str, str] | None = None) -> str:
    body = {"metadata": {"name": name, "labels": labels or {}}}
    response = await api.request("POST", CMS, body=body)
    assert response.status == 201, response
    version: str = response.json()["metadata"]["resourceVersion"]
    return version


async def take(events: AsyncIterator[dict[str, Any]], count: int) -> list[tuple[str, str]]:
    seen = []
    async for event in events:
        seen.append((event["type"], event["object"]["metadata"].get("name", "")))
        if len(seen) == count:
            break
    return seen


async def test_a_watch_from_a_version_replays_what_came_after(api: ApiSession) -> None:
    version = await create(api, "a")
    await create(api, "b")
    await api.request("DELETE", f"{CMS}/a")
    events = api.watch(CMS, params={"resourceVersion": version})
    assert await take(events, 2) == [("ADDED", "b"), ("DELETED", "a")]


async def test_a_watch_without_a_version_starts_with_the_current_state(api: ApiSession) -> None:
    await create(api, "a")
    events = api.watch(CMS)
    assert await take(events, 2) == [("ADDED", "a"), ("ADDED", "kube-root-ca.crt")]


async def test_live_events_reach_the_watch(api: ApiSession) -> None:
    version = await create(api, "a")
    events = api.watch(CMS, params={"resourceVersion": version})

    async def change() -> None:
        await create(api, "b")
        await api.request(
            "PATCH", f"{CMS}/b", body={"data": {"x": "1"}},
            content_type="application/merge-patch+json",
        )  # fmt: skip

    writer = asyncio.create_task(change())
    assert await take(events, 2) == [("ADDED", "b"), ("MODIFIED", "b")]
    await writer


async def test_a_version_older_than_the_window_gets_410_as_an_error_event(
    sim: serving.Simulator, api: ApiSession
) -> None:
    version = await create(api, "a")
    await create(api, "b")
    sim.cluster("sim-000").compact()
    events = [event async for event in api.watch(CMS, params={"resourceVersion": version})]
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {version} (")


async def test_bookmarks_carry_the_current_version() -> None:
    async with running(bookmark_interval=0.02) as sim, ApiSession(sim, "sim-000") as api:
        version = await create(api, "a")
        params = {"resourceVersion": version, "allowWatchBookmarks": "true"}
        async for event in api.watch(CMS, params=params):
            assert event["type"] == "BOOKMARK"
            assert event["object"] == {
                "kind": "ConfigMap",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": version},
            }
            break


async def test_timeout_seconds_ends_the_stream_cleanly(api: ApiSession) -> None:
    version = await create(api, "a")
    params = {"resourceVersion": version, "timeoutSeconds": "1"}
    assert [event async for event in api.watch(CMS, params=params)] == []


async def test_label_selectors_turn_changes_into_added_and_deleted(api: ApiSession) -> None:
    version = await create(api, "a", {"tier": "front"})
    events = api.watch(CMS, params={"resourceVersion": version, "labelSelector": "tier=back"})
    for tier in ("back", "front"):
        await api.request(
            "PATCH", f"{CMS}/a", body={"metadata": {"labels": {"tier": tier}}},
            content_type="application/merge-patch+json",
        )  # fmt: skip
    assert await take(events, 2) == [("ADDED", "a"), ("DELETED", "a")]


async def test_send_initial_events_ends_with_a_marked_bookmark(api: ApiSession) -> None:
    await create(api, "a")
    params = {
        "sendInitialEvents": "true",
        "allowWatchBookmarks": "true",
        "resourceVersionMatch": "NotOlderThan",
        "resourceVersion": "",
    }
    seen = []
    async for event in api.watch(CMS, params=params):
        seen.append(event)
        if event["type"] == "BOOKMARK":
            break
    assert [e["type"] for e in seen] == ["ADDED", "ADDED", "BOOKMARK"]
    annotations = seen[-1]["object"]["metadata"]["annotations"]
    assert annotations == {watching.INITIAL_EVENTS_END: "true"}
    refused = await api.request("GET", CMS, params={"watch": "1", "sendInitialEvents": "true"})
    assert refused.status == 422


@pytest.mark.parametrize(
    ("params", "code"),
    [({"resourceVersion": "99999"}, 504), ({"resourceVersion": "x"}, 400),
     ({"timeoutSeconds": "soon"}, 400), ({"labelSelector": "a in"}, 400)],
)  # fmt: skip
async def test_bad_watch_requests(api: ApiSession, params: dict[str, str], code: int) -> None:
    response = await api.request("GET", CMS, params={"watch": "true", **params})
    assert response.status == code


async def test_a_dropped_watch_is_cut_not_ended(sim: serving.Simulator, api: ApiSession) -> None:
    version = await create(api, "a")
    sim.set_faults(faults.Faults(drop_watches_after=0.01), "sim-000")
    with pytest.raises(aiohttp.ClientPayloadError):
        async for _ in api.watch(CMS, params={"resourceVersion": version}):
            pass


async def test_an_outage_cuts_open_watches(sim: serving.Simulator, api: ApiSession) -> None:
    await create(api, "a")
    events = api.watch(CMS)
    assert await take(events, 1) == [("ADDED", "a")]
    sim.set_faults(faults.Faults(outage=faults.Outage.UNAVAILABLE), "sim-000")
    with pytest.raises(aiohttp.ClientPayloadError):
        await take(events, 10)


def test_a_watch_that_falls_too_far_behind_is_ended() -> None:
    store = storage.Store(window=10)
    watch = watching.Watch(
        resources.CONFIGMAPS,
        namespace=None,
        labels=selectors.EVERYTHING,
        fields=selectors.NO_FIELDS,
        queue_limit=2,
    )
    store.subscribe(resources.CONFIGMAPS.storage_key, watch)
    for name in ("a", "b", "c"):
        store.write(resources.CONFIGMAPS.storage_key, {"metadata": {"name": name}})
    assert watch.ending is watching.Ending.TOO_SLOW
    assert repr(watch) == "Watch(configmaps in all namespaces, 2 queued, too slow)"


async def test_a_line_that_arrives_as_the_wait_times_out_is_still_sent() -> None:
    # The race behind a lost event: the wait times out in the same turn as a write, and a
    # bookmark at the current version would then be sent before the write's event.
    watch = watching.Watch(
        resources.CONFIGMAPS,
        namespace=None,
        labels=selectors.EVERYTHING,
        fields=selectors.NO_FIELDS,
        queue_limit=10,
    )

    async def late_wakeup() -> Literal[True]:
        watch.push_initial([b"line\n"])
        raise TimeoutError

    watch._wakeup.wait = late_wakeup  # type: ignore[method-assign]
    assert await watch.next(0.0) == b"line\n"
