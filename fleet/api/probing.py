"""Probes and metrics: ``/healthz``, ``/readyz`` and ``/metrics``.

Liveness and readiness answer different questions, and mixing them makes Kubernetes
restart a controller that is merely waiting. ``/healthz`` says the process and its event
loop answer; it checks nothing else, so a slow remote or an unreachable cluster never
gets fleet killed. ``/readyz`` says fleet is doing its job: the inventory is loaded, the
mirror has a commit, the informers have synced. Those facts belong to other parts, so
readiness is a seam: the runtime registers named checks, each a function that answers
from memory at once (None when ready, else why not), and the probe runs them all. A
check that raises counts as not ready and is logged, never a 500.

``/metrics`` is the Prometheus text format (or OpenMetrics, when the scraper asks) of
the registry the runtime passes in (never the process-global default registry, so tests
and two apps in one process do not mix).
It is rendered on the event loop: collectors read state the loop owns, and rendering
fleet's registry takes about a millisecond.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, exposition

from fleet.api import answering

_log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], str | None]
"""Answers at once, from memory: None when ready, else a short reason ("no commit yet")."""

HEALTHZ, READYZ, METRICS = "/healthz", "/readyz", "/metrics"


class Readiness:
    """The named checks ``/readyz`` runs; with none registered, fleet is ready."""

    def __init__(self) -> None:
        self._checks: dict[str, ReadinessCheck] = {}

    def register(self, name: str, check: ReadinessCheck) -> None:
        """Add (or replace) the check called ``name``."""
        self._checks[name] = check

    def verdicts(self) -> dict[str, str | None]:
        """Each check's answer, by name: None when ready, else the reason."""
        answers: dict[str, str | None] = {}
        for name, check in self._checks.items():
            try:
                answers[name] = check()
            except Exception:  # noqa: BLE001 -- a broken check means not ready, not a 500
                _log.exception("readiness check %r failed", name)
                answers[name] = "the check failed; the server log has the details"
        return answers

    def __repr__(self) -> str:
        return f"<Readiness checks={sorted(self._checks)}>"


class Probes:
    """The handlers of ``/healthz``, ``/readyz`` and ``/metrics``."""

    def __init__(self, readiness: Readiness, registry: CollectorRegistry) -> None:
        self._readiness = readiness
        self._registry = registry

    def __repr__(self) -> str:
        return f"<Probes {self._readiness!r}>"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(HEALTHZ, self.healthz),
            web.get(READYZ, self.readyz),
            web.get(METRICS, self.metrics),
        ]

    async def healthz(self, request: web.Request) -> web.Response:
        return answering.json_answer({"alive": True})

    async def readyz(self, request: web.Request) -> web.Response:
        verdicts = self._readiness.verdicts()
        ready = all(reason is None for reason in verdicts.values())
        checks = {name: reason or "ok" for name, reason in verdicts.items()}
        return answering.json_answer(
            {"ready": ready, "checks": checks}, status=200 if ready else 503
        )

    async def metrics(self, request: web.Request) -> web.Response:
        # The format the scraper asks for (OpenMetrics for a Prometheus that says so),
        # else the classic text format 0.0.4, as prometheus_client's own server does.
        encode, content_type = exposition.choose_encoder(request.headers.get("Accept", ""))
        answer = web.Response(body=encode(self._registry))
        answer.headers["Content-Type"] = content_type
        return answer
