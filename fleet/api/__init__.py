"""Interfaces: the JSON status API, the Git webhook receiver, probes and `/metrics`.

Served by aiohttp (`serving.application`, `serving.ApiServer`). Read endpoints are open
on the bind address (127.0.0.1 by default); anything that changes state needs the bearer
token from settings, and is off without one. The parts:

- `serving`: the application factory and the server; the order of the middlewares.
- `probing`: ``/healthz``, ``/readyz`` (checks the runtime registers) and ``/metrics``.
- `history`: ``/api/v1/syncs``, ``/drift``, ``/revisions``, ``/history`` over a `HistoryStore`.
- `clusters`: ``/api/v1/fleet``, ``/clusters``, ``/bundles`` and sync requests over a `FleetView`.
- `webhooks`: ``POST /hooks/git``.
- `parameters`, `encoding`, `answering`: query strings in, JSON out, errors as JSON.
- `guarding`, `observing`: token, CORS, limits, deadline; access log and request metrics.
- `openapi`: the OpenAPI 3.1 document (``openapi.json``), served and tested against.
"""
