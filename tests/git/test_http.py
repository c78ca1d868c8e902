"""Fetching over smart HTTP from a real server on loopback, with basic auth and faults."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from fleet.sources import publishing, remotes
from fleet.structs.settings import GitSettings, Secret
from fleet.structs.sources import SourceStatus
from tests.git.conftest import OpenMirror
from tests.git.doubles import PASSWORD, USERNAME, GitHttpServer

RIGHT = remotes.Credentials(USERNAME, Secret(PASSWORD))


async def test_right_credentials_fetch_and_read(
    open_mirror: OpenMirror, http_server: GitHttpServer
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    source = mirror.track("main")
    state = await source.fetch()
    assert (state.status, state.last_error) == (SourceStatus.READY, None)
    assert source.head is not None
    [deploy] = await source.read_directory(source.head, "apps/web")
    assert deploy.data == b"kind: Deployment\n"
    assert http_server.upload_packs == 1


@pytest.mark.parametrize(
    "credentials",
    [remotes.Credentials(USERNAME, Secret("wrong-" + PASSWORD)), None],
    ids=["wrong", "none"],
)
async def test_refused_credentials_fail_clearly_without_the_secret(
    open_mirror: OpenMirror,
    http_server: GitHttpServer,
    tmp_path: Path,
    metrics_registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
    credentials: remotes.Credentials | None,
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=credentials)
    source = mirror.track("main")
    with caplog.at_level(logging.DEBUG):
        state = await source.fetch()
    assert state.status is SourceStatus.FAILING
    assert state.last_error == "the remote refused the credentials (HTTP 401)"
    assert http_server.refused == 1
    secret = "wrong-" + PASSWORD
    shown = [
        repr(state),
        repr(mirror),
        repr(source),
        caplog.text,
        generate_latest(metrics_registry).decode(),
        *(
            os.path.join(folder, name)
            for folder, dirs, files in os.walk(tmp_path / "state")
            for name in [*dirs, *files]
        ),
    ]
    assert not [text for text in shown if secret in text or PASSWORD in text]


async def test_a_remote_that_goes_down_keeps_the_last_good_commit(
    open_mirror: OpenMirror, http_server: GitHttpServer, origin: Path
) -> None:
    mirror = await open_mirror(http_server.url("origin.git"), credentials=RIGHT)
    source = mirror.track("main")
    await source.fetch()
    last_good = source.head
    assert last_good is not None
    http_server.down = True
    publishing.publish_files(origin, files={"fleet.yaml": b"new"}, message="while down")
    for attempt in (1, 2, 3):
        state = await source.fetch()
        assert (state.status, state.head) == (SourceStatus.FAILING, last_good)
        assert state.consecutive_failures == attempt
    assert state.last_error is not None
    assert "503" in state.last_error
    assert (await source.read_file(last_good, "fleet.yaml")).data == b"bundles: []\n"
    http_server.down = False
    state = await source.fetch()
    assert (state.status, state.consecutive_failures) == (SourceStatus.READY, 0)
    assert state.head != last_good


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


async def test_credentials_from_the_environment(
    http_server: GitHttpServer, settings: GitSettings, metrics_registry: CollectorRegistry
) -> None:
    from fleet.sources import registry

    environ = {"FLEET_GIT_USERNAME": USERNAME, "FLEET_GIT_TOKEN": PASSWORD}
    async with registry.MirrorSet(settings, registry=metrics_registry, environ=environ) as mirrors:
        source = await mirrors.source(http_server.url("origin.git"), branch="main")
        state = await source.fetch()
    assert state.status is SourceStatus.READY
