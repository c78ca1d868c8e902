"""Who may do what, and for how long: the middlewares in front of every handler.

Reading is open on the bind address (loopback unless the operator chose otherwise);
changing state is not. Every route whose method is not GET, HEAD or OPTIONS needs
``Authorization: Bearer <api.token>``, compared in constant time, so that a new write
endpoint is protected by being one, not by remembering to protect it. Without a token
configured, writes are switched off (403) rather than open: an operator who never set
a token gets a controller that nobody on the network can push around. The webhook is
the one exception, because GitHub, Gitea and GitLab cannot send a bearer token; it
checks its own HMAC signature instead and is listed as such by the server.

CORS is off unless origins are configured, and then only for reads: a browser page
from another site can show the status, never trigger a sync with a visitor's
credentials. Each request has a deadline, so a stuck handler ends as a 503 instead of
holding a connection forever.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Collection

from aiohttp import web

from fleet.api import answering
from fleet.structs.settings import ApiSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITES_DISABLED = "writes are disabled: set FLEET_API_TOKEN"


def writes_need_token(
    settings: ApiSettings, *, self_authenticated: Collection[str]
) -> answering.Middleware:
    """Bearer-token check for every unsafe method, except on the routes whose canonical
    paths are in ``self_authenticated`` (they check a signature of their own)."""
    expected = settings.token.reveal().encode() if settings.token else None

    @web.middleware
    async def check(request: web.Request, handler: answering.Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS or _route(request) in self_authenticated:
            return await handler(request)
        if request.match_info.http_exception is not None:
            return await handler(request)  # 404 or 405: nothing to protect
        if expected is None:
            raise answering.ApiError(403, WRITES_DISABLED)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        presented = given.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented, expected):
            raise answering.ApiError(
                401,
                "this endpoint needs the API token: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="fleet"'},
            )
        return await handler(request)

    return check


def cors_for_reads(settings: ApiSettings) -> answering.Middleware:
    """``Access-Control-Allow-Origin`` on answers to safe requests from a configured origin."""
    allowed = frozenset(settings.cors_origins)

    @web.middleware
    async def cors(request: web.Request, handler: answering.Handler) -> web.StreamResponse:
        answer = await handler(request)
        if allowed:
            answer.headers.add("Vary", "Origin")
            origin = request.headers.get("Origin")
            if origin in allowed and request.method in SAFE_METHODS:
                answer.headers["Access-Control-Allow-Origin"] = origin
        return answer

    return cors


def body_limit(settings: ApiSettings, *, exempt: Collection[str]) -> answering.Middleware:
    """413 for a body announced larger than ``api.max_body_bytes``, before it is read.

    aiohttp's own limit (``client_max_size``) stops a body without a Content-Length as
    it is read; the routes in ``exempt`` read their bodies under limits of their own.
    """

    @web.middleware
    async def check(request: web.Request, handler: answering.Handler) -> web.StreamResponse:
        size = request.content_length
        if size is not None and size > settings.max_body_bytes and _route(request) not in exempt:
            raise answering.ApiError(413, f"the body is over {settings.max_body_bytes} bytes")
        return await handler(request)

    return check


def deadline(settings: ApiSettings) -> answering.Middleware:
    """Answer 503 when a handler takes longer than ``api.request_timeout``."""

    @web.middleware
    async def bounded(request: web.Request, handler: answering.Handler) -> web.StreamResponse:
        scope = asyncio.timeout(settings.request_timeout)
        try:
            async with scope:
                return await handler(request)
        except TimeoutError:
            if not scope.expired():
                raise
            raise answering.ApiError(
                503,
                f"the answer took longer than {settings.request_timeout:g} s; try again",
                headers={"Retry-After": "5"},
            ) from None

    return bounded


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None
