"""What the commands say when the server is not there, not fleet, or too slow."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from fleet.cli import apiclient
from tests.cli_client.conftest import RunFleet


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


async def test_nobody_listening(run_fleet: RunFleet, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    code, out, err = await run_fleet("status", "--server", url)
    assert (code, out) == (2, "")
    assert err == f"fleet: error: cannot reach fleet at {url}: connection refused\n"


async def _never(request: web.Request) -> web.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html>login</html>", content_type="text/html")


@pytest.fixture
async def other_server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/slow/api/v1/fleet", _never)
    app.router.add_route("*", "/{tail:.*}", _html)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_something_that_is_not_fleet(run_fleet: RunFleet, other_server: str) -> None:
    code, _, err = await run_fleet("sync", "eu-1", "--server", other_server, "--token", "x" * 20)
    assert code == 2
    assert err == (
        f"fleet: error: {other_server} did not answer as fleet's API does"
        " (HTTP 200, text/html); is --server right?\n"
    )
    assert "x" * 20 not in err


async def test_no_answer_in_time(run_fleet: RunFleet, other_server: str) -> None:
    code, _, err = await run_fleet("status", "--server", f"{other_server}/slow", "--timeout", "0.2")
    assert code == 2
    assert (
        err == f"fleet: error: cannot reach fleet at {other_server}/slow: no answer within 0.2 s\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--server", "127.0.0.1:8080"], "--server: must be an http(s) URL such as"),
        (["--server", "ftp://fleet"], "--server: must be an http(s) URL such as"),
        (["--timeout", "0"], "--timeout: must be above 0, not 0.0"),
    ],
)
async def test_bad_connection_flags(run_fleet: RunFleet, argv: list[str], message: str) -> None:
    code, _, err = await run_fleet("status", *argv)
    assert code == 2
    assert err.startswith(f"fleet: error: {message}")


def test_client_repr_hides_the_token() -> None:
    api = apiclient.FleetApi("http://127.0.0.1:8080/", token="s3cret-token", timeout=5)
    assert repr(api) == "<FleetApi http://127.0.0.1:8080, with token>"
