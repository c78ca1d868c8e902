"""What the server tells operators about the requests it answers: an access log that
holds no secret, and request metrics with bounded labels.

aiohttp's default access log prints the request line as sent, query string included,
so a token someone put in a URL would sit in every log collector. This log prints the
path and the query with the value of any parameter whose name looks like a credential
replaced by ``***``, never a header (``Authorization`` stays out), and the rest
percent-encoded, so a crafted URL cannot forge log lines.

Metrics are labelled by route template (``/api/v1/clusters/{name}``), not by path, so a
scanner requesting a million paths adds one label value, not a million.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote, urlencode

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import CollectorRegistry, Counter, Histogram

from fleet.api import answering

_SECRET_NAME = re.compile(r"token|secret|passw|key|auth|signature|credential|session", re.I)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REDACTED = "***"


class AccessLog(AbstractAccessLogger):
    """One line per request: client, method, redacted target, status, size, duration."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %d %.1fms',
            request.remote or "-",
            request.method if request.method in _METHODS else "OTHER",
            redacted_target(request),
            response.status,
            response.body_length,
            time * 1000,
        )


def redacted_target(request: web.BaseRequest) -> str:
    """The path and query, with credential-like parameter values replaced by ``***``."""
    pairs = [
        (name, REDACTED if _SECRET_NAME.search(name) else value)
        for name, value in request.rel_url.query.items()
    ]
    query = urlencode(pairs, quote_via=quote, safe="*")
    return request.rel_url.raw_path + (f"?{query}" if query else "")


class RequestMetrics:
    """``fleet_api_requests_total`` and ``fleet_api_request_duration_seconds``, by route."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "fleet_api_requests",
            "Requests answered by the API server, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self._duration = Histogram(
            "fleet_api_request_duration_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            registry=registry,
        )

    def __repr__(self) -> str:
        return "<RequestMetrics fleet_api_requests_total, fleet_api_request_duration_seconds>"

    @web.middleware
    async def measure(self, request: web.Request, handler: answering.Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            answer = await handler(request)
            status = answer.status
            return answer
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            method = request.method if request.method in _METHODS else "OTHER"
            self._requests.labels(route=route, method=method, status=str(status)).inc()
            self._duration.labels(route=route).observe(time.perf_counter() - started)
