"""Test doubles for the Git mirror: a clock that records sleeps, a real smart-HTTP
server with faults, and a client that sends incomplete packs."""

from __future__ import annotations

import asyncio
import base64
import collections
import io
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from dulwich.client import FetchPackResult, GitClient
from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import ObjectID, ShaFile
from dulwich.pack import write_pack_objects
from dulwich.refs import Ref
from dulwich.repo import Repo
from dulwich.server import BackendRepo, DictBackend
from dulwich.web import WSGIRequestHandlerLogger, WSGIServerLogger, make_wsgi_chain
from prometheus_client import CollectorRegistry

from tests.support.clock import FakeClock

USERNAME = "fleet-bot"
PASSWORD = "hunter2-correct-horse"


def fetches(metrics: CollectorRegistry, url: str, result: str) -> float:
    """``fleet_git_fetches_total`` for one remote and result."""
    value = metrics.get_sample_value("fleet_git_fetches_total", {"url": url, "result": result})
    return value or 0.0


def read_ref(repository: Path, name: str) -> str:
    with Repo(str(repository)) as repo:
        return repo.refs[Ref(name.encode())].decode()


def set_ref(repository: Path, name: str, sha: str | bytes) -> None:
    """Point a ref of a repository (origin, usually) at an object, as a push would."""
    with Repo(str(repository)) as repo:
        repo.refs[Ref(name.encode())] = ObjectID(sha if isinstance(sha, bytes) else sha.encode())


def delete_ref(repository: Path, name: str) -> None:
    with Repo(str(repository)) as repo:
        del repo.refs[Ref(name.encode())]


class RecordingClock(FakeClock):
    """The shared fake clock, and a record of every sleep asked for.

    A poll loop sleeps after a fetch that ran in a worker thread, which `advance()`
    cannot wait for; `wait_for_sleeps` can, so tests follow the loop without sleeping.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []
        self._asked = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        async with self._asked:
            self.sleeps.append(seconds)
            self._asked.notify_all()
        await super().sleep(seconds)

    async def wait_for_sleeps(self, count: int) -> list[float]:
        """Wait until ``count`` sleeps have been asked for in all; returns them."""
        async with self._asked:
            await self._asked.wait_for(lambda: len(self.sleeps) >= count)
        return self.sleeps[:count]


class GitHttpServer:
    """dulwich's smart-HTTP WSGI app on 127.0.0.1 behind HTTP basic auth, in a thread.

    It counts what a fetch costs it: ``advertisements`` (ref listings, ``GET
    info/refs``: one per fetch, even one that brings nothing) and ``upload_packs``
    (``POST git-upload-pack``: one per fetch that wants objects), in all and per
    repository name; ``authorizations`` holds the Authorization header of every request
    (None when absent), so a test can see which credentials reached this server.

    Faults: ``down`` answers 503 to everything; ``truncate_at`` cuts upload-pack
    responses after that many bytes (a server dying mid-pack); ``corrupt_at`` flips the
    byte at that offset of upload-pack responses; ``redirect_to`` (a base URL) answers
    every request with a 301 to the same path there.
    """

    def __init__(self, repositories: Mapping[str, Path], *, username: str, password: str) -> None:
        self._repos: dict[str, BackendRepo] = {
            f"/{name}": Repo(str(path)) for name, path in repositories.items()
        }
        self._git = make_wsgi_chain(DictBackend(self._repos))
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._expected = f"Basic {token}"
        self.down = False
        self.truncate_at: int | None = None
        self.corrupt_at: int | None = None
        self.redirect_to: str | None = None
        self.advertisements = 0
        self.upload_packs = 0
        self.advertised: collections.Counter[str] = collections.Counter()
        self.uploaded: collections.Counter[str] = collections.Counter()
        self.authorizations: list[str | None] = []
        self.refused = 0
        self._server = make_server(
            "127.0.0.1",
            0,
            self._app,
            server_class=WSGIServerLogger,
            handler_class=WSGIRequestHandlerLogger,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"GitHttpServer(port={self._server.server_port}, down={self.down})"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        for repo in self._repos.values():
            repo.close()  # type: ignore[attr-defined]

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def url(self, name: str) -> str:
        return f"{self.base_url()}/{name}"

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.authorizations.append(environ.get("HTTP_AUTHORIZATION"))
        if self.down:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down for maintenance\n"]
        path = environ["PATH_INFO"]
        if self.redirect_to is not None:
            query = environ.get("QUERY_STRING", "")
            location = self.redirect_to + path + (f"?{query}" if query else "")
            start_response("301 Moved Permanently", [("Location", location)])
            return [b""]
        if environ.get("HTTP_AUTHORIZATION") != self._expected:
            self.refused += 1
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Basic realm="git"')],
            )
            return [b"authentication required\n"]
        name = path.strip("/").split("/", 1)[0]
        if path.endswith("/info/refs"):
            self.advertisements += 1
            self.advertised[name] += 1
        if path.endswith("/git-upload-pack"):
            self.upload_packs += 1
            self.uploaded[name] += 1
            return self._git(environ, self._damaging(start_response))
        return self._git(environ, start_response)

    def _damaging(self, start_response: StartResponse) -> StartResponse:
        """dulwich writes a pack through the ``write`` that start_response returns;
        this one flips or drops bytes as the faults say."""
        sent = 0

        def start(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
            write = start_response(status, headers, exc_info)

            def damaged(chunk: bytes) -> object:
                nonlocal sent
                if self.corrupt_at is not None and sent <= self.corrupt_at < sent + len(chunk):
                    flipped = bytearray(chunk)
                    flipped[self.corrupt_at - sent] ^= 0xFF
                    chunk = bytes(flipped)
                if self.truncate_at is not None:
                    chunk = chunk[: max(0, self.truncate_at - sent)]
                sent += len(chunk)
                return write(chunk) if chunk else None

            return damaged

        return start


class PackingClient(GitClient):
    """A remote that answers with given refs and a pack of exactly the objects given,
    complete or not -- what no honest server sends, and what verification must catch.

    ``gate`` (if given) is waited on before the pack is sent, to hold the transfer
    thread as a stalled network would.
    """

    def __init__(
        self,
        *,
        refs: Mapping[bytes, bytes],
        objects: Iterable[ShaFile],
        gate: threading.Event | None = None,
    ) -> None:
        super().__init__()
        self._refs = {Ref(name): ObjectID(sha) for name, sha in refs.items()}
        self._objects = list(objects)
        self._gate = gate
        self.calls = 0
        self.finished = threading.Event()

    def fetch_pack(  # type: ignore[override]
        self,
        path: str | bytes,
        determine_wants: Callable[..., list[ObjectID]],
        graph_walker: Any,
        pack_data: Callable[[bytes], int],
        **kwargs: Any,
    ) -> FetchPackResult:
        self.calls += 1
        try:
            determine_wants(self._refs)
            if self._gate is not None:
                self._gate.wait()
            pack = io.BytesIO()
            write_pack_objects(pack, self._objects, DEFAULT_OBJECT_FORMAT)
            pack_data(pack.getvalue())
            return FetchPackResult(dict(self._refs), {}, b"fake")
        finally:
            self.finished.set()
