"""Problems: what is wrong in the fleet repository, and where, as values.

A fleet is many bundles on many clusters. One bad manifest on one cluster must not
hide the others, and `fleet validate` must show every problem in one run, so planning
collects `Problem` values instead of raising at the first one; the engine records them
against the bundle and cluster they concern, and the API and history show them. They
live here, below every layer, because all of those layers pass them on.

A message never quotes a value taken from a manifest (it may be a Secret's): it names
keys, parameters, objects and positions only.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from fleet.structs.objects import BundleName, ClusterName


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the repository: a file, and the line and column where known (from 1).

    ``revision`` is set when the file was read at a pinned revision rather than at the
    revision being rendered, so that the message says which version of the file is meant.
    """

    file: str
    line: int | None = None
    column: int | None = None
    revision: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}@{self.revision}" if self.revision else self.file
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, at one place; when rendering, also the bundle, cluster and target."""

    location: Location
    message: str
    bundle: BundleName | None = None
    cluster: ClusterName | None = None
    target: str | None = None

    def __str__(self) -> str:
        context = [
            f"{label} {value}"
            for label, value in (
                ("cluster", self.cluster),
                ("bundle", self.bundle),
                ("target", self.target),
            )
            if value is not None
        ]
        prefix = f"{self.location}: " + (f"[{', '.join(context)}] " if context else "")
        return prefix + self.message

    def sort_key(self) -> tuple[str, int, int, str, str, str, str]:
        """Order by file and position first, so that a list reads like a compiler's."""
        return (
            self.location.file,
            self.location.line or 0,
            self.location.column or 0,
            self.cluster or "",
            self.bundle or "",
            self.target or "",
            self.message,
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""`` if none is close."""
    # Case is compared apart, so that `in` suggests `In` as readily as `Inn` does.
    by_folded = {str(choice).casefold(): str(choice) for choice in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f" (did you mean {by_folded[close[0]]!r}?)" if close else ""
