"""Checking a parsed YAML document against a format, collecting every problem.

The small vocabulary the `fleet.yaml` loader is written in: "a mapping with these keys",
"a list", "a string", "one of these values", each recording a problem at the exact line
and column (of the key, for an unknown key) and returning None or an empty value so that
checking goes on. Messages name the key path the way a person would look it up
(``bundles[1].targets[0].name``) and suggest the closest known key or value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, TypeVar

from fleet.planning import naming
from fleet.planning.parsing import Document, Path
from fleet.structs.problems import Location, Problem, did_you_mean

_Choice = TypeVar("_Choice", bound=StrEnum)
_T = TypeVar("_T")


def describe(path: Path) -> str:
    """``path`` as a person looks it up: ``bundles[1].targets[0].name``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "the document"


def type_name(value: Any) -> str:
    """What ``value`` is, in the words of YAML rather than Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a mapping"


class Checker:
    """Reads one parsed document, collecting problems with their positions."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def fail(self, path: Path, message: str, *, at_key: bool = False) -> None:
        where = self.document.where_key(path) if at_key else self.document.where(path)
        self.problems.append(Problem(where, message))

    def wrong_type(self, path: Path, value: Any, expected: str, hint: str = "") -> None:
        self.fail(path, f"{describe(path)} must be {expected}, not {type_name(value)}{hint}")

    def fields(
        self, path: Path, value: Any, *, required: Iterable[str] = (), optional: Iterable[str] = ()
    ) -> dict[str, Any] | None:
        """``value`` if it is a mapping; unknown and missing keys are problems."""
        if not isinstance(value, dict):
            self.wrong_type(path, value, "a mapping")
            return None
        required = tuple(required)
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                self.fail(
                    (*path, key), f"unknown key {key!r} in {describe(path)}{hint}", at_key=True
                )
        for key in required:
            if key not in value:
                self.fail(path, f"{describe(path)} is missing {key!r}")
        return value

    def get(
        self, entry: dict[str, Any], path: Path, key: str, check: Callable[[Path, Any], _T]
    ) -> _T | None:
        """``check`` of the value of ``key`` in ``entry``, or None if the key is absent.

        An absent required key was reported by `fields`; it is not reported again as a
        value of the wrong type.
        """
        return check((*path, key), entry[key]) if key in entry else None

    def each(
        self,
        path: Path,
        value: Any,
        build: Callable[[Path, Any], _T | None],
        *,
        required: bool = False,
    ) -> list[_T]:
        """What ``build`` makes of each entry of the list ``value`` (failed entries left out)."""
        return [
            built
            for at, item in self.items(path, value, required=required)
            if (built := build(at, item)) is not None
        ]

    def items(self, path: Path, value: Any, *, required: bool) -> list[tuple[Path, Any]]:
        """The entries of a list, each with its path; an empty required list is a problem."""
        if not isinstance(value, list):
            self.wrong_type(path, value, "a list")
            return []
        if required and not value:
            self.fail(path, f"{describe(path)} must not be empty")
        return [((*path, index), item) for index, item in enumerate(value)]

    def text(self, path: Path, value: Any, *, hint: str = "") -> str | None:
        if isinstance(value, str):
            return value
        self.wrong_type(path, value, "a string", hint)
        return None

    def flag(self, path: Path, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        self.wrong_type(path, value, "true or false")
        return False

    def texts(self, path: Path, value: Any) -> list[str]:
        found = (
            self.text(item_path, item)
            for item_path, item in self.items(path, value, required=False)
        )
        return [item for item in found if item is not None]

    def text_map(self, path: Path, value: Any, *, hint: str = "") -> dict[str, str]:
        if not isinstance(value, dict):
            self.wrong_type(path, value, "a mapping")
            return {}
        found = {key: self.text((*path, key), item, hint=hint) for key, item in value.items()}
        return {key: item for key, item in found.items() if item is not None}

    def checked(
        self,
        path: Path,
        value: str | None,
        check: Callable[[str], str | None],
        *,
        at_key: bool = False,
    ) -> str | None:
        """``value`` if ``check`` finds nothing wrong with it (None is passed through)."""
        problem = check(value) if value is not None else None
        if problem is not None:
            self.fail(path, f"{describe(path)}: {problem}", at_key=at_key)
            return None
        return value

    def name(self, path: Path, value: Any) -> str | None:
        return self.checked(path, self.text(path, value), naming.dns_label_problem)

    def choice(self, path: Path, value: Any, kind: type[_Choice]) -> _Choice | None:
        text = self.text(path, value)
        if text is None:
            return None
        try:
            return kind(text)
        except ValueError:
            choices = [member.value for member in kind]
            hint = did_you_mean(text, choices) or f" (one of {', '.join(choices)})"
            self.fail(path, f"{describe(path)}: unknown value {text!r}{hint}")
            return None

    def unique(self, path: Path, entries: Any, what: str) -> None:
        """No two entries of the list at ``path`` have the same ``name``.

        This reads the entries as written, so that an entry with another problem is
        still compared by name.
        """
        seen: dict[str, Location] = {}
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str):
                continue
            at = (*path, index, "name")
            if name in seen:
                self.fail(at, f"duplicate {what} name {name!r} (first at line {seen[name].line})")
            else:
                seen[name] = self.document.where(at)

    def labels(self, path: Path, value: Any) -> dict[str, str]:
        labels = self.text_map(path, value)
        for key, label in labels.items():
            self.checked((*path, key), key, naming.label_key_problem, at_key=True)
            self.checked((*path, key), label, naming.label_value_problem)
        return labels
