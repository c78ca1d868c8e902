"""The OpenAPI document: valid, complete, served, and the same as the copy in docs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web

from fleet.api import openapi
from tests.api import contract
from tests.api.conftest import Serve

DOCS_COPY = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def _routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def _documented() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    }


async def test_every_route_is_documented_and_every_documented_path_is_a_route(
    serve: Serve,
) -> None:
    served = await serve()
    routes = _routes(served.server.app)
    assert routes == _documented()


def test_the_copy_in_docs_is_the_served_document() -> None:
    assert DOCS_COPY.read_bytes() == openapi.text()


def test_document_is_openapi_3_1_and_its_schemas_are_valid() -> None:
    document = openapi.document()
    assert document["openapi"].startswith("3.1")
    for name, schema in document["components"]["schemas"].items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:  # pragma: no cover - the message is the point
            pytest.fail(f"schema {name}: {error.message}")


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_resolves() -> None:
    document = openapi.document()
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_every_operation_documents_its_parameters_and_responses() -> None:
    for path, operations in openapi.document()["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            assert operation["responses"], (method, path)
            placeholders = path.count("{")
            in_path = [
                p
                for p in operation.get("parameters", [])
                if "clusterName" in str(p) or "bundleName" in str(p)
            ]
            assert len(in_path) == placeholders, (method, path)


async def test_served_document_is_the_file(serve: Serve) -> None:
    served = await serve()
    answer = await served.client.get(openapi.PATH)
    assert answer.status == 200
    assert answer.body == openapi.text()
    assert answer.json() == json.loads(DOCS_COPY.read_text())


def test_contract_check_refuses_an_answer_the_document_does_not_describe() -> None:
    with pytest.raises(AssertionError, match="lacks"):
        contract.check("GET", "/api/v1/fleet", 201, "application/json", b"{}")
    with pytest.raises(AssertionError):
        contract.check("GET", "/api/v1/history", 200, "application/json", b'{"backend": "disk"}')
