"""Answers checked against the OpenAPI document, so that the document cannot drift from
the code: every answer a test receives must be one the document describes.

An answer whose status the document lists for that operation is validated against that
schema; any other status must be an error with the ``{"error", "message"}`` shape (404
for an unknown path, 405, 413 ...). A 2xx the document does not list fails the test.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from fleet.api import openapi

URI = "urn:fleet:openapi"


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resource: referencing.Resource[Any] = referencing.Resource.from_contents(
        openapi.document(), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(URI, resource)
    return registry


@functools.cache
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple(
        (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
        for path in openapi.document()["paths"]
    )


def template(path: str) -> str | None:
    """The document's path template that ``path`` matches, if any."""
    return next((name for pattern, name in _templates() if pattern.match(path)), None)


def _pointer(*parts: str) -> str:
    return f"{URI}#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def check(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Fail (AssertionError) unless the answer is one the document describes."""
    document = openapi.document()
    found = template(path)
    operation = document["paths"].get(found, {}).get(method.lower()) if found else None
    response = operation["responses"].get(str(status)) if operation else None
    if response is None:
        assert status >= 400, f"{method} {path} answered {status}, which the document lacks"
        _validate(json.loads(body), {"$ref": _pointer("components", "schemas", "Error")})
        return
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = document["components"]["responses"][name]
        where: tuple[str, ...] = ("components", "responses", name)
    else:
        assert found is not None
        where = ("paths", found, method.lower(), "responses", str(status))
    media = content_type.split(";", maxsplit=1)[0].strip()
    assert media in response["content"], f"{method} {path} {status}: undocumented type {media}"
    if media == "application/json":
        _validate(json.loads(body), {"$ref": _pointer(*where, "content", media, "schema")})


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
