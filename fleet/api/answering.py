"""Answers of the API: JSON bodies, and every error as ``{"error", "message"}``.

A client (the `fleet` command, a dashboard, a script) should need one way to read any
failure, whatever raised it: a bad query parameter (`UserError`, 400), an unknown
name (404), a history database that is away (503), a route aiohttp does not know (404,
405), a body over the limit (413), or a bug. So one middleware turns each of these into
the same JSON shape, and nothing else reaches the client: no traceback, no exception
text from a library (which could hold a connection string), no HTML error page. The
bug case is logged with its traceback on the server and answered with a fixed message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import typedefs, web

from fleet.structs import errors

_log = logging.getLogger(__name__)

Handler = typedefs.Handler
Middleware = typedefs.Middleware

CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal",
    503: "unavailable",
}
"""The ``error`` field for each status the API answers with; clients branch on it."""


class ApiError(Exception):
    """Ends a request with an error answer; raised by handlers and middlewares."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def json_answer(body: Any, *, status: int = 200) -> web.Response:
    """``body`` (plain JSON values) as a compact JSON answer."""
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def error_answer(
    status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    code = CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    answer = json_answer({"error": code, "message": message}, status=status)
    answer.headers.update(headers or {})
    return answer


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn whatever a handler raises into a JSON error answer."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_answer(error.status, error.message, headers=error.headers)
    except errors.HistoryUnavailableError as error:
        return error_answer(503, f"history is unavailable: {error}", headers={"Retry-After": "5"})
    except errors.UserError as error:
        return error_answer(400, str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_answer(error.status, _message(error, request), headers=_kept(error))
    except Exception:  # noqa: BLE001 -- a bug answers 500 and is logged, never a traceback
        _log.exception("%s %s failed", request.method, request.rel_url.path)
        return error_answer(500, "internal error; the server log has the details")


def _message(error: web.HTTPException, request: web.Request) -> str:
    if error.status == 404:
        return f"no such endpoint: {request.rel_url.path}"
    if isinstance(error, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(error.allowed_methods))
        return f"{request.method} is not allowed here; allowed: {allowed}"
    if error.status == 413:
        return "the request body is too large"
    return error.reason


def _kept(error: web.HTTPException) -> dict[str, str]:
    # An aiohttp error's own headers include Content-Type and Content-Length of its text
    # body; only the headers that carry meaning for the client are kept.
    return {name: error.headers[name] for name in ("Allow", "Retry-After") if name in error.headers}
