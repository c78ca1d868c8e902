"""Server-side apply and managedFields, tested from YAML tables in `cases/`.

Each case file is a list of cases. A case gives the live object (with its
managedFields), the write (an applied `config`, or the `new` object of an update), who
makes it and when, and what must come out: the object, its managedFields, or the
conflicts or error that refuse the write. Tests that ask for `apply_case`,
`update_case` or `fields_case` run once per case of `apply.yaml`, `update.yaml` or
`fieldsv1.yaml`, named by the case's `name`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

CASES = Path(__file__).parent / "cases"

_FILES = {"apply_case": "apply.yaml", "update_case": "update.yaml"}

_NOW = "2026-11-22T10:00:00Z"


@dataclass(frozen=True, slots=True)
class Case:
    """One row of a table: a write and what it must produce."""

    name: str
    live: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    """The applied configuration, for an apply."""
    new: dict[str, Any] | None = None
    """The object after the write, for an update."""
    manager: str = "fleet"
    force: bool = False
    subresource: str = ""
    now: str = _NOW
    expect: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Case({self.name!r})"


@dataclass(frozen=True, slots=True)
class FieldsCase:
    """A FieldsV1 value, the fields it holds, and how it is written back."""

    name: str
    fieldsV1: dict[str, Any]  # noqa: N815 -- spelled as in the API
    fields: list[str] = field(default_factory=list)
    """The member fields, as the API server prints paths, in its order."""
    canonical: dict[str, Any] | None = None
    """How it is written back when that differs from how it was read."""

    def __repr__(self) -> str:
        return f"FieldsCase({self.name!r})"


def _rows(file_name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load((CASES / file_name).read_text())
    return rows


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argument, file_name in _FILES.items():
        if argument in metafunc.fixturenames:
            cases = [Case(**row) for row in _rows(file_name)]
            metafunc.parametrize(argument, cases, ids=[case.name for case in cases])
    if "fields_case" in metafunc.fixturenames:
        fields_cases = [FieldsCase(**row) for row in _rows("fieldsv1.yaml")]
        metafunc.parametrize("fields_case", fields_cases, ids=[case.name for case in fields_cases])
