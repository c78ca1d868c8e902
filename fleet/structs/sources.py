"""Files of the fleet repository as planning receives them.

Planning is pure, so it never reads a repository itself: the Git adapter reads the files
a bundle needs at one revision (inside the repository, within the size limits) and hands
them over as `SourceFile` values. The path is what every error message names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of the repository at one revision.

    ``path`` is relative to the repository root, with ``/`` separators, never ``..``.
    """

    path: str
    data: bytes

    def __repr__(self) -> str:
        return f"SourceFile({self.path!r}, {len(self.data)} bytes)"
