"""The mirror set: one mirror per remote, poll loops on the clock, webhook triggers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dulwich.repo import Repo
from prometheus_client import CollectorRegistry

from fleet.sources import publishing, registry
from fleet.structs.settings import GitSettings
from fleet.structs.sources import SourceStatus
from tests.git.doubles import PASSWORD, USERNAME, GitHttpServer, RecordingClock, fetches


async def test_one_bare_mirror_per_remote_however_it_is_spelt(
    mirrors: registry.MirrorSet, origin: Path, settings: GitSettings
) -> None:
    main = await mirrors.source(str(origin), branch="main")
    other = await mirrors.source(f"file://{origin}/", branch="other")
    mirror = await mirrors.mirror(str(origin))
    assert mirror is await mirrors.mirror(f"file://{origin}")
    assert (main.branch, other.branch) == ("main", "other")
    assert repr(mirrors) == f"<MirrorSet ['file://{origin}'] in {origin.parent / 'state'}>"
    [directory] = settings.state_dir.iterdir()
    assert directory.name == mirror.remote.directory_name
    with Repo(str(directory)) as repo:
        assert repo.bare  # objects and refs only: nothing is ever checked out
    assert not (directory / "fleet.yaml").exists()


async def test_the_poll_loop_fetches_at_once_then_every_interval(
    mirrors: registry.MirrorSet,
    origin: Path,
    clock: RecordingClock,
    metrics_registry: CollectorRegistry,
) -> None:
    source = await mirrors.source(str(origin), branch="main")
    [first_wait] = await clock.wait_for_sleeps(1)
    assert 54 <= first_wait <= 66
    assert source.state().status is SourceStatus.READY
    newer = publishing.publish_files(origin, files={"a": b"1"}, message="polled")
    changes = source.head_changes()
    await anext(changes)
    await clock.advance(first_wait)
    assert (await anext(changes)).after == newer
    await clock.wait_for_sleeps(2)
    assert fetches(metrics_registry, str(origin), "updated") == 2


async def test_a_failing_remote_backs_off_then_recovers(
    mirrors: registry.MirrorSet, tmp_path: Path, clock: RecordingClock
) -> None:
    remote = tmp_path / "later.git"
    source = await mirrors.source(str(remote), branch="main")
    waits = []
    for failures in range(1, 6):
        [*_, wait] = await clock.wait_for_sleeps(failures)
        state = source.state()
        assert (state.status, state.consecutive_failures) == (SourceStatus.FAILING, failures)
        waits.append(wait)
        if failures < 5:
            await clock.advance(wait)
    base = [2 ** (failures - 1) for failures in range(1, 6)]
    assert all(0.8 * high <= wait <= high for wait, high in zip(waits, base, strict=True))
    revision = publishing.publish_files(remote, files={"a": b"1"}, message="appeared")
    await clock.advance(waits[-1])
    [*_, healthy_wait] = await clock.wait_for_sleeps(6)
    assert 54 <= healthy_wait <= 66
    assert (source.state().status, source.head) == (SourceStatus.READY, revision)


async def test_a_trigger_fetches_at_once_and_a_burst_fetches_once(
    http_server: GitHttpServer, origin: Path, clock: RecordingClock, settings: GitSettings
) -> None:
    url = http_server.url("origin.git")
    async with registry.MirrorSet(
        settings,
        registry=CollectorRegistry(),
        clock=clock,
        environ={"FLEET_GIT_USERNAME": USERNAME, "FLEET_GIT_PASSWORD": PASSWORD},
    ) as authenticated:
        source = await authenticated.source(url, branch="main")
        await clock.wait_for_sleeps(1)
        newer = publishing.publish_files(origin, files={"a": b"1"}, message="pushed")
        spellings = [url.upper().replace("HTTP://", "https://"), "git@127.0.0.1:origin.git"]
        for _ in range(100):
            assert authenticated.trigger(spellings) == (url,)
        await clock.wait_for_sleeps(2)
        assert source.head == newer
        assert http_server.upload_packs == 2  # the first poll and one for the whole burst
        assert authenticated.trigger(["https://github.com/someone/else.git"]) == ()


async def test_close_stops_every_loop_and_refuses_new_mirrors(
    settings: GitSettings, origin: Path, clock: RecordingClock
) -> None:
    mirror_set = registry.MirrorSet(settings, registry=CollectorRegistry(), clock=clock)
    source = await mirror_set.source(str(origin), branch="main")
    await clock.wait_for_sleeps(1)
    changes = source.head_changes()
    await anext(changes)
    waiting = asyncio.ensure_future(anext(changes))
    await mirror_set.close()
    with pytest.raises(StopAsyncIteration):
        await waiting
    with pytest.raises(RuntimeError, match="is closed"):
        await mirror_set.source(str(origin), branch="main")
