"""A bundle's files, parsed once into manifest templates for every cluster to render.

Parsing is the expensive, cluster-independent half of rendering, so it is done once
per bundle directory and revision (a `BundleSource`) and its result reused for every
cluster that the bundle targets; only substitution and what follows is per cluster.

Which files count is what `kubectl apply -R` would take: `.yaml`, `.yml` and `.json`
files anywhere below the directory, each with any number of documents; empty documents
are skipped and other files ignored (a README stays a README). A bundle with no object at
all is a problem: an emptied directory would otherwise prune everything it ever created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleet.planning import parsing, substituting
from fleet.planning.specs import BundleSource, Template
from fleet.structs import errors
from fleet.structs.problems import Location, Problem
from fleet.structs.sources import SourceFile

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class ManifestTemplate:
    """One document of a manifest file, before parameters are substituted."""

    template: Template
    location: Location


@dataclass(frozen=True, slots=True)
class ParsedBundle:
    """What one bundle directory at one revision holds: manifests, or problems."""

    source: BundleSource
    manifests: tuple[ManifestTemplate, ...]
    problems: tuple[Problem, ...]

    def __repr__(self) -> str:
        return (
            f"ParsedBundle({self.source}, {len(self.manifests)} manifests, "
            f"{len(self.problems)} problems)"
        )


def parse_bundle(
    source: BundleSource, files: Sequence[SourceFile] | errors.UserError
) -> ParsedBundle:
    """Parse the files of ``source``, or turn the error that reading them raised into a problem.

    The engine reads the directory through the Git adapter; if that fails (a missing
    directory, a limit, a revision that does not exist), it passes the `UserError` here so
    that every cluster that the bundle targets reports it, and the others go on.
    """
    where = Location(source.path, revision=source.revision)
    if isinstance(files, errors.UserError):
        # The problem's place is the bundle already; say the error's own place only if other.
        detail = files.message if files.where in (None, str(where)) else str(files)
        return ParsedBundle(source, (), (Problem(where, f"cannot read the bundle: {detail}"),))
    manifests: list[ManifestTemplate] = []
    problems: list[Problem] = []
    for file in sorted(files, key=lambda file: file.path):
        if not file.path.endswith(SUFFIXES):
            continue
        location = Location(file.path, revision=source.revision)
        parsed = parsing.parse(file.data, source=location, record_all=False)
        problems.extend(parsed.problems)
        for document in parsed.documents:
            if not isinstance(document.value, dict):
                problems.append(
                    Problem(document.location, "a manifest must be a mapping (one object)")
                )
                continue
            manifests.append(ManifestTemplate(substituting.template(document), document.location))
    if not manifests and not problems:
        message = f"no objects in {source.path!r}: no {', '.join(SUFFIXES)} file holds a document"
        problems.append(Problem(where, message))
    return ParsedBundle(source, tuple(manifests), tuple(problems))
