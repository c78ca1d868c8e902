"""Random query strings against every read endpoint, on both stores: never a 5xx, and
every answer is one the OpenAPI document describes (the client checks each one)."""

from __future__ import annotations

import random
import urllib.parse

from fleet.api import openapi
from fleet.structs import history as h
from tests.api.conftest import Serve

NAMES = [
    "cluster", "bundle", "revision", "result", "trigger", "since", "until", "kind",
    "namespace", "name", "fieldManager", "action", "repository", "ref", "limit", "cursor",
    "selector", "state", "by", "x", "", "cluster[]", "%00", "__proto__",
]  # fmt: skip
VALUES = [
    "", "eu-1", "a" * 40, "A" * 64, "failed", "commit", "0", "-1", "1000", "1001", "1e3",
    "99999999999999999999", "2030-01-01T00:00:00Z", "2030-01-01", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00Z", "nan", "\x00", "\u202e", "💥",
    "' OR 1=1 --", "%", "%%",
    "env in (prod", "env notin ()", "!", "=", "a=b,c!=d", "(", ")", "\\", "\r\n", " ",
    "eyJ0YWJsZSI6InN5bmNzIn0", "x" * 2000, "null", "[]", "{}",
]  # fmt: skip
PATHS = [
    path.replace("{name}", "eu-1")
    for path, operations in openapi.document()["paths"].items()
    if "get" in operations
] + ["/api/v1/clusters/%00", "/api/v1/bundles/..%2F..", "/api/v1/clusters/" + "x" * 300]


def _queries(seed: int, count: int) -> list[tuple[str, str]]:
    chooser = random.Random(seed)
    found = []
    for _ in range(count):
        pairs = [
            (chooser.choice(NAMES), chooser.choice(VALUES)) for _ in range(chooser.randint(0, 4))
        ]
        if chooser.random() < 0.2:  # raw bytes, percent-encoded
            raw = bytes(chooser.randrange(256) for _ in range(chooser.randint(1, 12)))
            pairs.append(
                (chooser.choice(NAMES), urllib.parse.unquote_to_bytes(raw).decode("latin-1"))
            )
        found.append((chooser.choice(PATHS), urllib.parse.urlencode(pairs)))
    return found


async def test_random_queries_never_cause_a_server_error(
    both_backends: h.HistoryStore, serve: Serve
) -> None:
    client = (await serve(store=both_backends)).client
    statuses: set[int] = set()
    for path, query in _queries(seed=7, count=400):
        answer = await client.request("GET", f"{path}?{query}" if query else path)
        assert answer.status < 500, (path, query, answer)
        statuses.add(answer.status)
    assert {200, 400, 404} <= statuses
