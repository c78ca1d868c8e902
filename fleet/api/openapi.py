"""The OpenAPI 3.1 document of the API, served at ``/api/v1/openapi.json``.

It is written by hand, next to the code, and shipped as package data; docs/openapi.json
is a copy. The API tests keep the three in step: every route of the application is in
the document and every path of the document is a route, the copy in docs/ is the same
file, and the answers the tests receive are checked against the document's schemas. A
hand-written document says what the API promises; a generated one would only repeat
what the code happens to do.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

from aiohttp import web

PATH = "/api/v1/openapi.json"


@functools.cache
def text() -> bytes:
    """The document as shipped."""
    return importlib.resources.files(__package__).joinpath("openapi.json").read_bytes()


def document() -> dict[str, Any]:
    """The document, parsed."""
    parsed: dict[str, Any] = json.loads(text())
    return parsed


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, _serve)]


async def _serve(request: web.Request) -> web.Response:
    return web.Response(body=text(), content_type="application/json")
