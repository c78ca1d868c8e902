"""Schemathesis against the served OpenAPI document: generated requests (valid and
invalid) to every operation, on both history stores, never get a 5xx, and every answer
conforms to the document."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from fleet.api import openapi
from fleet.structs import history as h
from tests.api.conftest import TOKEN, Serve

ST = Path(sys.executable).parent / "st"
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance",
])  # fmt: skip


async def test_generated_requests_get_documented_answers_and_no_5xx(
    both_backends: h.HistoryStore, serve: Serve, tmp_path: Path
) -> None:
    served = await serve(store=both_backends, token=TOKEN)
    process = await asyncio.create_subprocess_exec(
        str(ST), "run", served.client.base_url + openapi.PATH,
        "--checks", CHECKS, "--max-examples", "25", "--generation-deterministic",
        "--phases", "examples,coverage,fuzzing", "--header", f"Authorization: Bearer {TOKEN}",
        "--workers", "1", "--report-dir", str(tmp_path / "report"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,  # its cache of crashes goes there, not into the checkout
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"},
    )  # fmt: skip
    async with asyncio.timeout(600):
        out, _ = await process.communicate()
    report = out.decode()
    assert process.returncode == 0, report[-6000:]
    # Every operation it found was tested, and it found them all (it may leave out the
    # document's own URL, which it was given).
    counts = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert counts is not None, report[-2000:]
    selected, total, tested = (int(n) for n in counts.groups())
    assert selected == total == tested, report[-2000:]
    assert total >= len(openapi.document()["paths"]) - 1, report[-2000:]
