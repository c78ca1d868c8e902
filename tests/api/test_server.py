"""`ApiServer`: listens where told, says so in its repr and URL, and fails clearly when
the port is taken; `ApiSettings` refuses what cannot work."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from multidict import MultiDict
from prometheus_client import CollectorRegistry

from fleet.api import clusters, history, observing, parameters, probing, serving
from fleet.store import memory
from fleet.structs import errors
from fleet.structs.settings import ApiSettings, HistorySettings, Secret, listen_address
from tests.api import fakes


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


async def test_server_listens_on_a_free_port_and_stops() -> None:
    settings = ApiSettings(listen="127.0.0.1:0")
    server = serving.ApiServer(web.Application(), settings)
    assert repr(server) == "<ApiServer 127.0.0.1:0 stopped>"
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
    async with server:
        assert server.port
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert repr(server) == f"<ApiServer 127.0.0.1:0 serving on port {server.port}>"
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
    assert repr(server).endswith("stopped>")


async def test_a_port_in_use_is_one_clear_error(taken_port: int) -> None:
    settings = ApiSettings(listen=f"127.0.0.1:{taken_port}")
    with pytest.raises(errors.UserError) as raised:
        await serving.ApiServer(web.Application(), settings).start()
    assert str(raised.value).startswith(f"api.listen: cannot listen on 127.0.0.1:{taken_port}: ")
    assert "in use" in str(raised.value)


async def test_every_interface_is_reached_through_loopback() -> None:
    async with serving.ApiServer(web.Application(), ApiSettings(listen="0.0.0.0:0")) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize(
    ("listen", "address"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:9000", ("::1", 9000)),
        ("fleet.internal:80", ("fleet.internal", 80)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_listen_addresses(listen: str, address: tuple[str, int]) -> None:
    assert listen_address(listen) == address


@pytest.mark.parametrize(
    ("overrides", "where", "message"),
    [
        ({"listen": "8080"}, "api.listen", "must be host:port"),
        ({"listen": "localhost:99999"}, "api.listen", "must be host:port"),
        ({"listen": ":8080"}, "api.listen", "must be host:port"),
        ({"token": Secret("short")}, "api.token", "must be 16 to 4096 printable"),
        ({"token": Secret("with spaces inside it")}, "api.token", "must be 16 to 4096"),
        ({"max_page_size": 5000}, "api.max_page_size", "must be 1 to 1000"),
        ({"default_page_size": 0}, "api.default_page_size", "must be 1 to max_page_size"),
        (
            {"default_page_size": 200, "max_page_size": 100},
            "api.default_page_size",
            "must be 1 to max_page_size",
        ),
        ({"cors_origins": ("*",)}, "api.cors_origins", "must be origins such as"),
        ({"max_body_bytes": 0}, "api.max_body_bytes", "must be above 0"),
        ({"max_header_bytes": 100}, "api.max_header_bytes", "must be at least 1024"),
        ({"request_timeout": float("nan")}, "api.request_timeout", "must be above 0"),
        ({"keepalive_timeout": 0.0}, "api.keepalive_timeout", "must be above 0"),
        ({"shutdown_timeout": -1.0}, "api.shutdown_timeout", "must be 0 or more"),
    ],
)
def test_api_settings_refuse_what_cannot_work(
    overrides: dict[str, Any], where: str, message: str
) -> None:
    with pytest.raises(errors.UserError) as raised:
        ApiSettings(**overrides)
    assert raised.value.where == where
    assert raised.value.message.startswith(message)
    assert "short" not in str(raised.value)
    assert "spaces inside" not in str(raised.value)


def test_defaults_are_loopback_and_writes_off() -> None:
    settings = ApiSettings()
    assert (settings.listen, settings.token, settings.cors_origins) == ("127.0.0.1:8080", None, ())


def test_the_parts_say_what_they_serve() -> None:
    store = memory.MemoryHistory(HistorySettings(), registry=CollectorRegistry())
    readiness = probing.Readiness()
    readiness.register("mirror", lambda: None)
    assert repr(probing.Probes(readiness, CollectorRegistry())) == (
        "<Probes <Readiness checks=['mirror']>>"
    )
    assert repr(history.HistoryEndpoints(store, ApiSettings())) == (
        "<HistoryEndpoints <MemoryHistory syncs=0 drift=0 revisions=0>>"
    )
    assert repr(clusters.FleetEndpoints(fakes.FakeFleet(), store, ApiSettings())) == (
        "<FleetEndpoints FakeFleet(3 clusters, 0 syncs requested)>"
    )
    assert "fleet_api_requests_total" in repr(observing.RequestMetrics(CollectorRegistry()))
    query = parameters.Query(
        MultiDict({"limit": "5", "cluster": "eu-1"}), known=("limit", "cluster")
    )
    assert repr(query) == "<Query ['cluster', 'limit']>"
