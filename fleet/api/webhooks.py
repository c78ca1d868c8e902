"""`POST /hooks/git`: push webhooks from GitHub, Gitea and GitLab make fleet fetch at once.

A push webhook turns a poll interval of latency into about a second. The receiver
trusts nothing before the signature holds: the body is read only up to a limit (413
past it, decided from Content-Length before reading when the sender gives one, and
within a read timeout), then authenticated against the shared secret in constant time
(GitHub: ``X-Hub-Signature-256``, HMAC-SHA256 of the body; Gitea: ``X-Gitea-Signature``,
the same HMAC in hex; GitLab: ``X-Gitlab-Token``, the secret itself). Only then is the
JSON parsed. A bad or missing signature is 401 and triggers nothing.

Without a configured secret the endpoint answers 404, as if it did not exist: an
unauthenticated trigger would let anyone who can reach the API make fleet fetch at
will, and 404 tells a scanner nothing.

The receiver knows nothing of mirrors: it hands every URL the payload gives for the
repository to a `MirrorTrigger` (the `MirrorSet` in production), which decides what
matches, and answers 202 with the URLs of the mirrors it woke. It does not wait for
the fetch; the mirror's poll loop, which owns fetching, does it.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from fleet.structs.settings import WebhookSettings
from fleet.structs.sources import MirrorTrigger

PATH = "/hooks/git"

_log = logging.getLogger(__name__)
_READ_CHUNK = 64 << 10
_URL_KEYS = (
    "clone_url",
    "ssh_url",
    "html_url",
    "git_url",
    "url",
    "git_http_url",
    "git_ssh_url",
    "web_url",
    "homepage",
)
"""Where GitHub and Gitea (``repository``) and GitLab (``project``, ``repository``) put
the repository's URLs; an API URL among them simply matches no mirror."""


class Provider(enum.StrEnum):
    GITHUB = "github"
    GITEA = "gitea"
    GITLAB = "gitlab"
    UNKNOWN = "unknown"


class Result(enum.StrEnum):
    """The ``result`` label of ``fleet_webhook_requests_total``."""

    DISABLED = "disabled"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"
    MALFORMED = "malformed"
    PING = "ping"
    IGNORED = "ignored"
    TRIGGERED = "triggered"


class _RefusalError(Exception):
    """Ends a request early with an error answer."""

    def __init__(self, result: Result, status: int, message: str) -> None:
        super().__init__(message)
        self.result, self.status, self.message = result, status, message


class GitWebhook:
    """The receiver; `routes()` gives the aiohttp route to add to the API app."""

    def __init__(
        self, settings: WebhookSettings, *, trigger: MirrorTrigger, registry: CollectorRegistry
    ) -> None:
        self._settings = settings
        self._trigger = trigger
        self._requests = Counter(
            "fleet_webhook_requests",
            "Requests to the Git push webhook, by provider and result.",
            ["provider", "result"],
            registry=registry,
        )

    def __repr__(self) -> str:
        enabled = "enabled" if self._settings.secret else "disabled (no secret)"
        return f"<GitWebhook POST {PATH} {enabled} max_body={self._settings.max_body_bytes}>"

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        provider = _provider(request.headers)
        try:
            result, status, answer = await self._accept(provider, request)
        except _RefusalError as refusal:
            result, status, answer = refusal.result, refusal.status, {"error": refusal.message}
            if result is not Result.DISABLED:
                _log.warning("webhook from %s refused (%d): %s", provider, status, refusal)
        self._requests.labels(provider=provider.value, result=result.value).inc()
        return web.json_response(answer, status=status)

    async def _accept(
        self, provider: Provider, request: web.Request
    ) -> tuple[Result, int, dict[str, Any]]:
        secret = self._settings.secret
        if not secret:
            raise _RefusalError(Result.DISABLED, 404, "not found")
        body = await self._read(request)
        if not _authentic(provider, request.headers, body, secret.reveal().encode()):
            raise _RefusalError(Result.UNAUTHORIZED, 401, "bad or missing signature")
        payload = _parse(body)
        event = _event(provider, request.headers)
        if event == "ping":
            return Result.PING, 200, {"pong": True}
        if event not in ("push", "Push Hook", "Tag Push Hook"):
            return Result.IGNORED, 200, {"ignored": event}
        urls = sorted(set(_repository_urls(payload)))
        if not urls:
            raise _RefusalError(Result.MALFORMED, 400, "the payload names no repository")
        triggered = self._trigger.trigger(urls)
        _log.info("%s push for %s: fetching %s", provider, urls[0], list(triggered) or "nothing")
        return Result.TRIGGERED, 202, {"triggered": list(triggered)}

    async def _read(self, request: web.Request) -> bytes:
        limit = self._settings.max_body_bytes
        too_large = _RefusalError(Result.TOO_LARGE, 413, f"body over {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self._settings.read_timeout):
                while chunk := await request.content.read(_READ_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    chunks.append(chunk)
        except TimeoutError:
            raise _RefusalError(Result.TIMEOUT, 408, "body too slow") from None
        return b"".join(chunks)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _RefusalError(Result.MALFORMED, 400, f"not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise _RefusalError(Result.MALFORMED, 400, "not a JSON object")
    return payload


def _provider(headers: Mapping[str, str]) -> Provider:
    # Gitea also sends GitHub's headers for compatibility, so it is recognised first.
    if "X-Gitea-Event" in headers or "X-Gitea-Signature" in headers:
        return Provider.GITEA
    if "X-Gitlab-Event" in headers or "X-Gitlab-Token" in headers:
        return Provider.GITLAB
    if "X-GitHub-Event" in headers or "X-Hub-Signature-256" in headers:
        return Provider.GITHUB
    return Provider.UNKNOWN


def _event(provider: Provider, headers: Mapping[str, str]) -> str:
    header = {
        Provider.GITHUB: "X-GitHub-Event",
        Provider.GITEA: "X-Gitea-Event",
        Provider.GITLAB: "X-Gitlab-Event",
    }.get(provider)
    return headers.get(header, "") if header else ""


def _authentic(provider: Provider, headers: Mapping[str, str], body: bytes, key: bytes) -> bool:
    if provider is Provider.GITLAB:
        return hmac.compare_digest(headers.get("X-Gitlab-Token", "").encode(), key)
    digest = hmac.new(key, body, hashlib.sha256).hexdigest()
    if provider is Provider.GITEA:
        return hmac.compare_digest(headers.get("X-Gitea-Signature", "").encode(), digest.encode())
    if provider is Provider.GITHUB:
        signature = headers.get("X-Hub-Signature-256", "").encode()
        return hmac.compare_digest(signature, f"sha256={digest}".encode())
    return False


def _repository_urls(payload: Mapping[str, Any]) -> Iterator[str]:
    for section in ("repository", "project"):
        described = payload.get(section)
        if isinstance(described, dict):
            for key in _URL_KEYS:
                value = described.get(key)
                if isinstance(value, str) and value:
                    yield value
