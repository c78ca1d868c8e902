"""The deployment files, and the real kubectl against a simulated management cluster.

kubectl gets its own HOME and cache directory in the test's temporary directory, and
talks TLS to the simulator (it sends tokens only over TLS).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import simulator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = DEPLOY / "kubernetes"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
TIMEOUT = 60


def documents(path: Path) -> list[dict[str, Any]]:
    """The objects of a YAML file, or of every YAML file directly in a directory."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return [doc for file in files for doc in yaml.safe_load_all(file.read_text()) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


@dataclass(frozen=True, slots=True)
class Ran:
    code: int
    out: str
    err: str


class Kubectl:
    """The real kubectl, pointed at one simulated cluster."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self._kubeconfig = kubeconfig
        self._home = home

    def __repr__(self) -> str:
        return f"Kubectl({self._kubeconfig.name})"

    async def __call__(self, *args: str) -> Ran:
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            "--kubeconfig",
            str(self._kubeconfig),
            "--cache-dir",
            str(self._home / "cache"),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(self._home)},
        )
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate()
        assert process.returncode is not None
        return Ran(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    """kubectl for a fresh one-cluster simulator, the management cluster of these tests."""
    async with simulator.running(clusters=1, tls=True) as sim:
        await sim.write_files(tmp_path / "sim")
        yield Kubectl(tmp_path / "sim" / f"{sim.names[0]}.kubeconfig", tmp_path)
