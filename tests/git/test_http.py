"""Fetching over smart HTTP from a real server on loopback: basic auth and tokens from
settings or the environment (never from Git configuration, never past a redirect, never
shown), single-flight counted at the server, force-push, deleted branch, faults."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from fleet.sources import publishing, registry, remotes
from fleet.structs.settings import GitSettings, Secret
from fleet.structs.sources import SourceStatus
from tests.git.conftest import OpenMirror
from tests.git.doubles import PASSWORD, USERNAME, GitHttpServer, RecordingClock, delete_ref

RIGHT = remotes.Credentials(USERNAME, Secret(PASSWORD))
BASIC = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
"""What the Authorization header carries: as much a credential as the password."""


Leaks = Callable[..., list[str]]


@pytest.fixture
def leaks(
    settings: GitSettings,
    metrics_registry: CollectorRegistry,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> Leaks:
    """Finds the credential in every text fleet shows: the log so far, the reprs of the
    objects given, metrics, span names and attributes, and paths under the state dir."""

    def find(*shown: object) -> list[str]:
        texts = [caplog.text, *map(repr, shown), generate_latest(metrics_registry).decode()]
        for span in spans.get_finished_spans():
            texts += [span.name, repr(dict(span.attributes or {})), repr(span.status.description)]
        for folder, dirs, files in os.walk(settings.state_dir):
            texts += [os.path.join(folder, name) for name in [*dirs, *files]]
        return [text for text in texts if PASSWORD in text or BASIC in text]

    return find


async def test_right_credentials_fetch_and_read_and_are_never_shown(
    open_mirror: OpenMirror,
    http_server: GitHttpServer,
    caplog: pytest.LogCaptureFixture,
    leaks: Leaks,
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    source = mirror.track("main")
    with caplog.at_level(logging.DEBUG):
        state = await source.fetch()
    assert (state.status, state.last_error) == (SourceStatus.READY, None)
    assert source.head is not None
    [deploy] = await source.read_directory(source.head, "apps/web")
    assert deploy.data == b"kind: Deployment\n"
    assert (http_server.advertisements, http_server.upload_packs) == (1, 1)
    assert set(http_server.authorizations) == {f"Basic {BASIC}"}  # it was sent, and right
    assert caplog.records  # urllib3 and dulwich did log at DEBUG: the check below means something
    assert leaks(state, mirror, source) == []


async def test_a_hundred_concurrent_fetches_reach_the_server_once(
    open_mirror: OpenMirror, http_server: GitHttpServer, origin: Path
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    sources = [mirror.track("main") for _ in range(100)]  # a hundred clusters, one branch
    states = await asyncio.gather(*(source.fetch() for source in sources))
    assert {(state.status, state.head) for state in states} == {
        (SourceStatus.READY, sources[0].head)
    }
    assert (http_server.advertisements, http_server.upload_packs) == (1, 1)
    newer = publishing.publish_files(origin, files={"fleet.yaml": b"next"}, message="next")
    states = await asyncio.gather(*(source.fetch() for source in sources))
    assert {state.head for state in states} == {newer}
    assert (http_server.advertisements, http_server.upload_packs) == (2, 2)


@pytest.mark.parametrize(
    "credentials",
    [remotes.Credentials(USERNAME, Secret("wrong-" + PASSWORD)), None],
    ids=["wrong", "none"],
)
async def test_refused_credentials_fail_clearly_without_the_secret(
    open_mirror: OpenMirror,
    http_server: GitHttpServer,
    caplog: pytest.LogCaptureFixture,
    leaks: Leaks,
    credentials: remotes.Credentials | None,
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=credentials)
    source = mirror.track("main")
    with caplog.at_level(logging.DEBUG):
        state = await source.fetch()
    assert state.status is SourceStatus.FAILING
    assert state.last_error == "the remote refused the credentials (HTTP 401)"
    assert http_server.refused == 1
    assert leaks(state, mirror, source) == []  # the wrong password holds the right one


async def test_a_remote_that_goes_down_keeps_the_last_good_commit(
    open_mirror: OpenMirror, http_server: GitHttpServer, origin: Path, clock: RecordingClock
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    source = mirror.track("main")
    good = await source.fetch()
    last_good, succeeded = source.head, good.last_success
    assert last_good is not None
    assert succeeded == clock.utcnow()
    http_server.down = True
    newer = publishing.publish_files(origin, files={"fleet.yaml": b"new"}, message="while down")
    for attempt in (1, 2, 3):
        await clock.advance(30)
        state = await source.fetch()
        assert (state.status, state.head) == (SourceStatus.FAILING, last_good)
        assert state.consecutive_failures == attempt
        assert (state.last_success, state.last_attempt) == (succeeded, clock.utcnow())
    assert state.last_error is not None
    assert "503" in state.last_error
    assert (await source.read_file(last_good, "fleet.yaml")).data == b"bundles: []\n"
    http_server.down = False
    await clock.advance(30)
    state = await source.fetch()
    assert (state.status, state.consecutive_failures, state.last_error) == (
        SourceStatus.READY,
        0,
        None,
    )
    assert (state.head, state.last_success) == (newer, clock.utcnow())


async def test_force_push_and_deleted_branch_over_http(
    open_mirror: OpenMirror, http_server: GitHttpServer, origin: Path
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    source = mirror.track("main")
    await source.fetch()
    old = source.head
    assert old is not None
    rewritten = publishing.publish_files(
        origin, files={"fleet.yaml": b"rewritten"}, message="rewrite", replace_history=True
    )
    state = await source.fetch()
    assert (state.status, state.head) == (SourceStatus.READY, rewritten)
    assert (await source.read_file(old, "fleet.yaml")).data == b"bundles: []\n"
    publishing.publish_files(origin, files={"x": b"1"}, message="keep", branch="other")
    delete_ref(origin, "refs/heads/main")
    state = await source.fetch()
    assert (state.status, state.head) == (SourceStatus.BRANCH_MISSING, rewritten)
    assert (await source.read_file(rewritten, "fleet.yaml")).data == b"rewritten"


async def test_nothing_listening_is_a_clear_failure(open_mirror: OpenMirror) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mirror = await open_mirror(f"http://127.0.0.1:{port}/origin.git", credentials=RIGHT)
    state = await mirror.track("main").fetch()
    assert state.status is SourceStatus.FAILING
    assert state.last_error is not None
    assert "refused" in state.last_error.lower()
    assert PASSWORD not in state.last_error


@pytest.mark.parametrize("fault", ["truncate_at", "corrupt_at"])
async def test_a_damaged_transfer_never_replaces_the_last_good_state(
    open_mirror: OpenMirror, http_server: GitHttpServer, origin: Path, tmp_path: Path, fault: str
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    source = mirror.track("main")
    await source.fetch()
    last_good = source.head
    big = {f"apps/bulk/{index}.yaml": os.urandom(2_000) for index in range(20)}
    newer = publishing.publish_files(origin, files=big, message="big change")
    setattr(http_server, fault, 20_000)
    state = await source.fetch()
    assert (state.status, state.head) == (SourceStatus.FAILING, last_good)
    assert await source.resolve("main") == last_good
    assert not list((tmp_path / "state").rglob("tmp_pack_*"))
    setattr(http_server, fault, None)
    state = await source.fetch()
    assert (state.status, state.head) == (SourceStatus.READY, newer)
    assert len(await source.read_directory(newer, "apps/bulk")) == 20


def test_server_repr(http_server: GitHttpServer) -> None:
    assert repr(http_server).startswith("GitHttpServer(port=")


@pytest.mark.parametrize(
    ("username", "configured", "environ"),
    [
        (USERNAME, {"http_username": USERNAME, "http_password": Secret(PASSWORD)}, {}),
        (remotes.TOKEN_USERNAME, {"http_password": Secret(PASSWORD)}, {}),
        (USERNAME, {}, {"FLEET_GIT_USERNAME": USERNAME, "FLEET_GIT_PASSWORD": PASSWORD}),
        (remotes.TOKEN_USERNAME, {}, {"FLEET_GIT_TOKEN": PASSWORD}),
    ],
    ids=["settings-basic", "settings-token", "environment-basic", "environment-token"],
)
async def test_credentials_from_settings_or_the_environment(
    origin: Path,
    tmp_path: Path,
    metrics_registry: CollectorRegistry,
    username: str,
    configured: dict[str, Any],
    environ: dict[str, str],
) -> None:
    server = GitHttpServer({"origin.git": origin}, username=username, password=PASSWORD)
    settings = GitSettings(state_dir=tmp_path / "state", **configured)
    try:
        async with registry.MirrorSet(
            settings, registry=metrics_registry, clock=RecordingClock(), environ=environ
        ) as mirrors:
            source = await mirrors.source(server.url("origin.git"), branch="main")
            state = await source.fetch()
    finally:
        server.close()
    assert (state.status, state.last_error) == (SourceStatus.READY, None)
    assert server.refused == 0


async def test_git_configuration_never_supplies_credentials(
    open_mirror: OpenMirror,
    http_server: GitHttpServer,
    settings: GitSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every place Git (and dulwich, given a config) would find a header or a stored
    # credential holds the right one; fleet, given none, must still be refused.
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    url = http_server.url("origin.git")
    stored = url.replace("http://", f"http://{USERNAME}:{PASSWORD}@")
    config = (
        f"[http]\n\textraHeader = Authorization: Basic {BASIC}\n"
        f'[credential]\n\thelper = store\n[url "{stored}"]\n\tinsteadOf = {url}\n'
    )
    for path in (home / ".gitconfig", home / ".config" / "git" / "config"):
        path.write_text(config)
    (home / ".git-credentials").write_text(stored + "\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    mirror = await open_mirror(url)
    with (settings.state_dir / mirror.remote.directory_name / "config").open("a") as mine:
        mine.write(config)  # the mirror's own repository configuration, too
    state = await mirror.track("main").fetch()
    assert (state.status, state.last_error) == (
        SourceStatus.FAILING,
        "the remote refused the credentials (HTTP 401)",
    )
    assert set(http_server.authorizations) == {None}


async def test_a_redirect_to_another_origin_never_carries_the_credentials(
    open_mirror: OpenMirror, http_server: GitHttpServer, origin: Path
) -> None:
    elsewhere = GitHttpServer({"origin.git": origin}, username=USERNAME, password=PASSWORD)
    http_server.redirect_to = elsewhere.base_url()  # another port: another origin
    try:
        mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
        state = await mirror.track("main").fetch()
    finally:
        elsewhere.close()
    assert http_server.authorizations == [f"Basic {BASIC}"]
    assert elsewhere.authorizations == [None]  # the redirect was followed, bare
    assert (state.status, state.last_error) == (
        SourceStatus.FAILING,
        "the remote refused the credentials (HTTP 401)",
    )
