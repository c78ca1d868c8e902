"""Repositories the engine's tests deploy: the example fleet of `clusters/`, and small
ones written in the tests."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "clusters"


def example() -> dict[str, bytes]:
    """Every file of the example fleet repository, by path."""
    return {
        path.relative_to(EXAMPLE).as_posix(): path.read_bytes()
        for path in sorted(EXAMPLE.rglob("*"))
        if path.is_file()
    }
