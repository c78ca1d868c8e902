"""How the command line talks to a running fleet: its HTTP API, with timeouts, and every
failure as one line a person can act on.

`fleet status` and `fleet sync` are clients of the same API a dashboard would use, so
they work against a fleet in a cluster (through ``kubectl port-forward``) as well as a
local one, and need nothing but the URL. What can go wrong between here and there is
turned into a `UserError` that the command line prints as one line: nothing listening
("cannot reach fleet at URL: ..."), no answer in time, something that is not fleet's
API (an HTML page), or the API's own ``{"error", "message"}`` answer, whose message
already says what is wrong. The token travels only in the ``Authorization`` header and
is never printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl

from fleet.structs import errors

DEFAULT_SERVER = "http://127.0.0.1:8080"
SERVER_VARIABLE = "FLEET_SERVER"
TOKEN_VARIABLE = "FLEET_API_TOKEN"  # noqa: S105 -- the name of a variable, not a token
DEFAULT_TIMEOUT = 10.0


def add_connection_arguments(parser: Any, *, token: bool = False) -> None:
    """``--server`` and ``--timeout`` (and ``--token`` for commands that write)."""
    parser.add_argument(
        "--server",
        default=os.environ.get(SERVER_VARIABLE, DEFAULT_SERVER),
        help=f"fleet's API (default ${SERVER_VARIABLE} or {DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for an answer (default {DEFAULT_TIMEOUT:g})",
    )
    if token:
        parser.add_argument(
            "--token",
            default=None,
            help=f"the API token (default ${TOKEN_VARIABLE}; prefer the variable:"
            " flags show in ps)",
        )


class FleetApi:
    """An HTTP session with one fleet; use as ``async with FleetApi(url) as api``."""

    def __init__(self, server: str, *, token: str | None = None, timeout: float) -> None:
        try:
            url = yarl.URL(server.rstrip("/"))
        except (TypeError, ValueError):
            url = yarl.URL()
        if url.scheme not in ("http", "https") or not url.host:
            raise errors.UserError(
                f"must be an http(s) URL such as {DEFAULT_SERVER}, not {server!r}",
                where="--server",
            )
        if not timeout > 0:
            raise errors.UserError(f"must be above 0, not {timeout}", where="--timeout")
        self._server = url
        self._token = token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        token = ", with token" if self._token else ""
        return f"<FleetApi {self._server}{token}>"

    async def __aenter__(self) -> FleetApi:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers={"Accept": "application/json"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of ``GET path`` (a path with its query, or with ``params``)."""
        return await self._request("GET", path, params=params)

    async def post(self, path: str) -> Any:
        """The JSON answer of ``POST path``, with the token when there is one."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return await self._request("POST", path, headers=headers)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        assert self._session is not None, "use `async with FleetApi(...)`"
        # Appended, not joined: a fleet served under a prefix (a proxy's /fleet) keeps it.
        url = yarl.URL(str(self._server) + path, encoded=True)
        try:
            async with self._session.request(
                method, url, params=params, headers=headers
            ) as response:
                body = await response.read()
                status, content_type = response.status, response.content_type
        except TimeoutError:
            raise self._unreachable(f"no answer within {self._timeout:g} s") from None
        except aiohttp.ClientError as error:
            raise self._unreachable(_reason(error)) from None
        try:
            answer = json.loads(body) if content_type == "application/json" else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise errors.UserError(
                f"{self._server} did not answer as fleet's API does"
                f" (HTTP {status}, {content_type or 'no content type'}); is --server right?"
            )
        if status >= 400:
            message = str(answer.get("message") or answer.get("error") or f"HTTP {status}")
            if status == 401:
                message += f" (give --token or set {TOKEN_VARIABLE})"
            raise errors.UserError(message, where=f"{method} {url.raw_path}")
        return answer

    def _unreachable(self, reason: str) -> errors.UserError:
        return errors.UserError(f"cannot reach fleet at {self._server}: {reason}")


def _reason(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        # asyncio's own text is "Connect call failed ('127.0.0.1', 8080)"; the errno says more.
        # Name lookups fail with negative (getaddrinfo) numbers, whose own text is right.
        cause = error.os_error
        if cause.errno and cause.errno > 0:
            return os.strerror(cause.errno).lower()
        return (cause.strerror or str(cause) or "connection failed").lower()
    return str(error) or type(error).__name__
