"""The real kubectl (/usr/bin/kubectl), run against a simulated cluster, for any feature.

    kubectl = Kubectl(kubeconfig, home=tmp_path)
    result = await kubectl("get", "deployments", "-n", "web", "-o", "json")
    result.code, result.json()

Each instance has its own HOME and --cache-dir, so discovery and OpenAPI caches never
leak from one test into another. kubectl sends tokens only over TLS: start the
simulator with ``tls=True``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Kubectl:
    """kubectl with its own HOME, cache directory and kubeconfig."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.kubeconfig = kubeconfig
        self.home = home
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}

    def __repr__(self) -> str:
        return f"Kubectl({self.kubeconfig.name})"

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [KUBECTL, "--kubeconfig", str(self.kubeconfig),
                "--cache-dir", str(self.home / "cache"), *args]  # fmt: skip

    async def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
    ) -> Result:
        process = await asyncio.create_subprocess_exec(
            *self.argv(args),
            stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**self.env, **(env or {})},
        )
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate(stdin)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())
