"""The mirror: fetch, head changes, force-push, deleted branch, single-flight, failures
that never replace the last good state, timeouts, spans, metrics and reprs."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from fleet.sources import fetching, mirroring, publishing, reading, remotes
from fleet.sources.mirroring import FetchOutcome
from fleet.structs import errors
from fleet.structs.settings import GitSettings
from fleet.structs.sources import GitSource, HeadChange, SourceStatus
from tests.git.conftest import OpenMirror
from tests.git.doubles import PackingClient, RecordingClock, delete_ref, fetches, read_ref, set_ref


def publish(origin: Path, **files: bytes) -> str:
    return publishing.publish_files(origin, files=dict(files), message="change")


@pytest.mark.parametrize("spelling", ["path", "file-url"])
async def test_first_fetch_brings_the_head_and_announces_it(
    open_mirror: OpenMirror, origin: Path, spelling: str
) -> None:
    mirror = await open_mirror(str(origin) if spelling == "path" else f"file://{origin}")
    source: GitSource = mirror.track("main")  # mypy checks that it is a GitSource
    before = source.state()
    assert (before.status, before.head) == (SourceStatus.PENDING, None)
    state = await source.fetch()
    assert state.status is SourceStatus.READY
    assert state.head is not None
    assert state.head == source.head
    assert state.last_success is not None
    assert state.consecutive_failures == 0
    changes = source.head_changes()
    change = await anext(changes)
    assert (change.before, change.after, change.branch) == (None, source.head, "main")
    result = await mirror.fetch()
    assert result.outcome is FetchOutcome.UNCHANGED


async def test_a_slow_reader_gets_the_newest_head_and_iteration_ends_at_close(
    open_mirror: OpenMirror, origin: Path
) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    await source.fetch()
    changes = source.head_changes()
    first = await anext(changes)
    publish(origin, a=b"1")
    await source.fetch()
    newest = publish(origin, a=b"2")
    await source.fetch()
    change = await anext(changes)
    assert change.after == newest
    assert change.before != first.after  # the middle commit was skipped, not queued
    waiting = asyncio.ensure_future(anext(changes))
    await mirror.close()
    with pytest.raises(StopAsyncIteration):
        await waiting


async def test_a_head_found_on_disk_serves_before_the_first_fetch(
    open_mirror: OpenMirror, origin: Path, settings: GitSettings
) -> None:
    earlier = await open_mirror(str(origin))
    earlier.track("main")
    await earlier.fetch()
    await earlier.close()
    last_good = earlier.head("main")
    assert last_good is not None
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    assert source.head == last_good
    assert source.state().status is SourceStatus.PENDING
    change = await anext(source.head_changes())
    assert change == HeadChange(source.url, "main", None, last_good, None)


async def test_force_push_is_followed(open_mirror: OpenMirror, origin: Path) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    await source.fetch()
    old = source.head
    rewritten = publishing.publish_files(
        origin, files={"fleet.yaml": b"rewritten"}, message="rewrite", replace_history=True
    )
    state = await source.fetch()
    assert (state.status, state.head) == (SourceStatus.READY, rewritten)
    assert (await mirror.commit_info(rewritten)).summary == "rewrite"
    assert old is not None
    assert (await mirror.read_file(old, "fleet.yaml")).data == b"bundles: []\n"


async def test_a_deleted_branch_keeps_serving_its_last_good_commit(
    open_mirror: OpenMirror, origin: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    await source.fetch()
    last_good = source.head
    assert last_good is not None
    publishing.publish_files(origin, files={"x": b"1"}, message="keep", branch="other")
    delete_ref(origin, "refs/heads/main")
    with caplog.at_level(logging.WARNING, logger="fleet.sources"):
        state = await source.fetch()
    assert state.status is SourceStatus.BRANCH_MISSING
    assert state.head == last_good
    assert state.last_error is not None
    assert "no branch 'main'" in state.last_error
    assert "no branch 'main'" in caplog.text
    assert (await source.read_file(last_good, "fleet.yaml")).data == b"bundles: []\n"
    assert await source.resolve("main") == last_good
    back = publish(origin, fleet_yaml=b"back")
    state = await source.fetch()
    assert (state.status, state.head, state.last_error) == (SourceStatus.READY, back, None)


async def test_branches_and_tags_are_mirrored_and_pruned(
    open_mirror: OpenMirror, origin: Path
) -> None:
    mirror = await open_mirror(str(origin))
    mirror.track("main")
    feature = publishing.publish_files(origin, files={"f": b"1"}, message="f", branch="feature")
    set_ref(origin, "refs/tags/v1", feature)
    set_ref(origin, "refs/notes/commits", feature)
    result = await mirror.fetch()
    assert result.outcome is FetchOutcome.UPDATED
    assert await mirror.resolve("feature") == feature
    assert await mirror.resolve("v1") == feature
    with pytest.raises(errors.UnknownRevisionError):
        await mirror.resolve("notes/commits")
    delete_ref(origin, "refs/heads/feature")
    assert (await mirror.fetch()).outcome is FetchOutcome.UPDATED
    with pytest.raises(errors.UnknownRevisionError):
        await mirror.resolve("feature")
    assert await mirror.resolve(feature) == feature  # its objects stay: a pin still works


async def test_a_hundred_concurrent_fetches_make_one(
    open_mirror: OpenMirror,
    origin: Path,
    metrics_registry: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connected: list[str] = []
    real_connect = remotes.connect

    def counted(remote: remotes.Remote, **options: Any) -> Any:
        connected.append(remote.url)  # in the transfer thread: one per talk to the remote
        return real_connect(remote, **options)

    monkeypatch.setattr(remotes, "connect", counted)
    mirror = await open_mirror(str(origin))
    mirror.track("main")
    results = await asyncio.gather(*(mirror.fetch() for _ in range(100)))
    assert {id(result) for result in results} == {id(results[0])}
    assert connected == [str(origin)]
    assert fetches(metrics_registry, str(origin), "updated") == 1
    assert fetches(metrics_registry, str(origin), "unchanged") == 0


@pytest.mark.parametrize("method", ["read_directory", "read_file", "commit_info", "resolve"])
async def test_reads_run_off_the_event_loop(
    open_mirror: OpenMirror, origin: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    await source.fetch()
    revision = source.head
    assert revision is not None
    arguments = {
        "read_directory": (revision, "apps"),
        "read_file": (revision, "fleet.yaml"),
        "commit_info": (revision,),
        "resolve": ("main",),
    }[method]
    entered, gate = threading.Event(), threading.Event()
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []
    real = getattr(reading.RepositoryReader, method)

    def held(self: reading.RepositoryReader, *args: Any) -> Any:
        threads.append(threading.current_thread())
        if threads[-1] is loop_thread:  # holding it here would hang the test, not fail it
            entered.set()
            raise AssertionError(f"{method} ran on the event loop")
        entered.set()
        gate.wait()  # a read of a huge tree, as far as the loop can tell
        return real(self, *args)

    monkeypatch.setattr(reading.RepositoryReader, method, held)
    read = asyncio.ensure_future(getattr(source, method)(*arguments))
    await asyncio.to_thread(entered.wait)
    newer = publish(origin, fleet_yaml=b"meanwhile")
    assert (await source.fetch()).head == newer  # the loop went on while the read was held
    gate.set()
    assert await read
    [thread] = threads
    assert thread.name.startswith("fleet-git-read")


async def test_a_fetch_asked_for_during_a_transfer_gets_one_more_after_it(
    open_mirror: OpenMirror, origin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = await open_mirror(str(origin))
    mirror.track("main")
    entered, gate = threading.Event(), threading.Event()
    real_transfer = fetching.transfer

    def transfer(**options: Any) -> fetching.Transfer:
        transferred = real_transfer(**options)
        if not entered.is_set():  # the first fetch has listed the remote's refs: hold it
            entered.set()
            gate.wait()
        return transferred

    monkeypatch.setattr(fetching, "transfer", transfer)
    first = asyncio.ensure_future(mirror.fetch())
    await asyncio.to_thread(entered.wait)
    newer = publish(origin, a=b"newer")
    later = [asyncio.ensure_future(mirror.fetch()) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    first_result = await first
    later_results = await asyncio.gather(*later)
    assert first_result.heads_after["main"] != newer
    assert {id(result) for result in later_results} == {id(later_results[0])}
    assert later_results[0].heads_after["main"] == newer


def _objects_for(origin: Path, content: bytes) -> tuple[Commit, list[ShaFile]]:
    """A commit on top of origin's main with one new file, and all its new objects."""
    parent = ObjectID(read_ref(origin, "refs/heads/main").encode())
    blob = Blob.from_string(content)
    tree = Tree()
    tree.add(b"new.yaml", 0o100644, blob.id)
    commit = Commit()
    commit.tree, commit.parents = tree.id, [parent]
    commit.author = commit.committer = b"a <a@example.com>"
    commit.author_time = commit.commit_time = 1_900_000_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"incomplete\n"
    return commit, [commit, tree, blob]


@pytest.mark.parametrize(
    ("missing", "message"),
    [(Blob, "did not arrive"), (Tree, "did not arrive"), (Commit, "did not arrive")],
)
async def test_a_pack_that_lacks_an_object_never_moves_the_branch(
    open_mirror: OpenMirror,
    origin: Path,
    monkeypatch: pytest.MonkeyPatch,
    missing: type[ShaFile],
    message: str,
) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    await source.fetch()
    last_good = source.head
    commit, objects = _objects_for(origin, b"lost")
    packed = [obj for obj in objects if not isinstance(obj, missing)]
    fake = PackingClient(refs={b"refs/heads/main": commit.id}, objects=packed)
    monkeypatch.setattr(remotes, "connect", lambda remote, **options: (fake, "/"))
    state = await source.fetch()
    assert state.status is SourceStatus.FAILING
    assert state.last_error is not None
    assert message in state.last_error
    assert state.head == last_good
    assert mirror.head("main") == last_good
    assert await mirror.resolve("main") == last_good  # the ref on disk never moved


async def test_a_transfer_that_times_out_is_never_overlapped(
    open_mirror: OpenMirror, origin: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = GitSettings(state_dir=tmp_path / "state", fetch_timeout=0.5)
    mirror = await open_mirror(str(origin), settings=settings)
    source = mirror.track("main")
    commit, objects = _objects_for(origin, b"slow")
    gate = threading.Event()
    stalled = PackingClient(refs={b"refs/heads/main": commit.id}, objects=objects, gate=gate)
    monkeypatch.setattr(remotes, "connect", lambda remote, **options: (stalled, "/"))
    timed_out = await source.fetch()
    assert timed_out.last_error == "timed out after 0.5 s"
    still = await source.fetch()
    assert still.last_error == "the transfer of an earlier fetch that timed out is still running"
    assert stalled.calls == 1
    assert "fetching=False" in repr(mirror)
    gate.set()
    await asyncio.to_thread(stalled.finished.wait)  # it stops at its first chunk
    healthy = PackingClient(refs={b"refs/heads/main": commit.id}, objects=objects)
    monkeypatch.setattr(remotes, "connect", lambda remote, **options: (healthy, "/"))
    recovered = await source.fetch()
    assert (recovered.status, recovered.head) == (SourceStatus.READY, commit.id.decode())
    assert (stalled.calls, healthy.calls) == (1, 1)


async def test_a_pack_over_the_size_limit_is_abandoned(
    open_mirror: OpenMirror, origin: Path, tmp_path: Path
) -> None:
    publish(origin, big=random.Random(1).randbytes(50_000))
    settings = GitSettings(state_dir=tmp_path / "state", max_fetch_bytes=10_000)
    mirror = await open_mirror(str(origin), settings=settings)
    source = mirror.track("main")
    state = await source.fetch()
    assert (state.status, state.head) == (SourceStatus.FAILING, None)
    assert state.last_error == "the pack passed max_fetch_bytes=10000"
    assert not list((settings.state_dir).rglob("tmp_pack_*"))


async def test_a_missing_remote_fails_and_counts(
    open_mirror: OpenMirror,
    tmp_path: Path,
    metrics_registry: CollectorRegistry,
    clock: RecordingClock,
) -> None:
    url = str(tmp_path / "nowhere.git")
    mirror = await open_mirror(url)
    source = mirror.track("main")
    for attempt in (1, 2):
        state = await source.fetch()
        assert state.status is SourceStatus.FAILING
        assert state.consecutive_failures == attempt
    assert state.last_error == "the remote has no repository at this URL"
    assert (state.last_success, state.last_attempt) == (None, clock.utcnow())
    assert fetches(metrics_registry, url, "failed") == 2
    failures = metrics_registry.get_sample_value("fleet_git_consecutive_failures", {"url": url})
    assert failures == 2


async def test_span_and_metrics_of_a_fetch(
    open_mirror: OpenMirror,
    origin: Path,
    spans: InMemorySpanExporter,
    metrics_registry: CollectorRegistry,
    clock: RecordingClock,
) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    url = str(origin)
    since = "fleet_git_seconds_since_last_success"
    assert metrics_registry.get_sample_value(since, {"url": url}) != 0  # NaN: never
    result = await mirror.fetch()
    [span] = spans.get_finished_spans()
    assert span.name == "fleet.fetch"
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "fleet.git.url": url,
        "fleet.git.refs": ("main",),
        "fleet.git.revision.before": ("",),
        "fleet.git.revision.after": (source.head,),
        "fleet.git.result": "updated",
    }
    change = await anext(source.head_changes())
    assert change.fetch_span == result.span == span.get_span_context()
    await clock.advance(42)
    assert metrics_registry.get_sample_value(since, {"url": url}) == 42
    duration = metrics_registry.get_sample_value(
        "fleet_git_fetch_duration_seconds_count", {"url": url}
    )
    assert duration == 1


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        (0, 54.0, 66.0),
        (1, 0.8, 1.0),
        (2, 1.6, 2.0),
        (5, 12.8, 16.0),
        (9, 204.8, 256.0),
        (10, 240.0, 300.0),
        (10_000, 240.0, 300.0),
    ],
)
def test_delay_is_the_jittered_interval_or_a_bounded_backoff(
    failures: int, low: float, high: float
) -> None:
    rng = random.Random(failures)
    delays = [
        mirroring.delay(failures=failures, settings=GitSettings(), rng=rng) for _ in range(200)
    ]
    assert all(low <= delay <= high for delay in delays)
    assert max(delays) - min(delays) > (high - low) / 2  # jittered, not constant


@pytest.mark.parametrize(
    ("failures", "low", "high"), [(0, 9.5, 10.5), (1, 2.0, 2.0), (3, 8.0, 8.0), (4, 10.0, 10.0)]
)
def test_delay_follows_the_settings(failures: int, low: float, high: float) -> None:
    settings = GitSettings(
        poll_interval=10, poll_jitter=0.05, backoff_base=2, backoff_cap=10, backoff_jitter=0
    )
    rng = random.Random(failures)
    delays = [mirroring.delay(failures=failures, settings=settings, rng=rng) for _ in range(50)]
    assert all(low <= delay <= high for delay in delays)


async def test_reprs(open_mirror: OpenMirror, origin: Path) -> None:
    mirror = await open_mirror(str(origin))
    source = mirror.track("main")
    assert repr(mirror) == f"<GitMirror {origin} [main@none] failures=0 fetching=False>"
    await source.fetch()
    head = source.head or ""
    assert repr(source) == f"<TrackedBranch {origin} main@{head[:7]}>"
    assert re.fullmatch(
        rf"<GitMirror {origin} \[main@{head[:7]}\] failures=0 fetching=False>", repr(mirror)
    )
    await mirror.close()
    assert repr(mirror).endswith(" closed>")
    with pytest.raises(RuntimeError, match="is closed"):
        await mirror.fetch()


async def test_an_invalid_branch_is_a_user_error(open_mirror: OpenMirror, origin: Path) -> None:
    mirror = await open_mirror(str(origin))
    with pytest.raises(errors.UserError, match="not a valid branch name"):
        mirror.track("bad..name")
