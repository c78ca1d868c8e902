"""Loading a revision: from a commit of the fleet repository to every cluster's desired state.

Planning is pure, so it cannot read the repository; this module does the reading for
it, through a `RepositoryReader` (the Git source the controller follows, or a working
tree for `fleet validate`), and hands planning bytes and files:

1. read and load ``fleet.yaml`` at the revision (a problem there stops the whole
   revision: without a valid spec nothing can be rendered, and the last good revision
   keeps serving);
2. resolve every pinned target revision to a full commit SHA;
3. read every bundle directory the spec names, at its revision, concurrently; a read
   that fails (a missing directory, a limit, an unsafe path) becomes a problem of that
   bundle only, so the other bundles still render;
4. render for the clusters given (`rendering.render_fleet`), in a worker thread: for a
   thousand clusters it is most of a second of CPU that the event loop should not wait
   for.

The result, a `LoadedRevision`, keeps the spec and the files, so that when the clusters
change (an inventory reload) the engine renders again without reading Git again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from fleet.planning import loading, rendering
from fleet.planning.desired import FleetRender
from fleet.planning.specs import BundleSource, FleetSpec
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.objects import Revision
from fleet.structs.sources import SourceFile

SPEC_PATH = "fleet.yaml"
"""Where the fleet spec lives in the repository."""


class RepositoryReader(Protocol):
    """What loading needs of a repository: the read half of `GitSource`."""

    async def resolve(self, name: str) -> Revision: ...

    async def read_file(self, revision: Revision, path: str) -> SourceFile: ...

    async def read_directory(self, revision: Revision, path: str) -> tuple[SourceFile, ...]: ...


@dataclass(frozen=True, slots=True)
class LoadedRevision:
    """A revision's spec and bundle files, ready to render for any set of clusters."""

    revision: Revision
    spec: FleetSpec
    files: Mapping[BundleSource, Sequence[SourceFile] | errors.UserError]
    pinned: Mapping[str, Revision]
    """Each pinned revision as written in `fleet.yaml`, resolved to a full SHA."""

    def revision_of(self, pinned: str | None) -> Revision:
        """The full SHA a bundle renders from: its pin's, or this revision."""
        if pinned is None:
            return self.revision
        return self.pinned.get(pinned, self.revision)

    def render(self, clusters: Iterable[Cluster]) -> FleetRender:
        """Every cluster's desired state (pure; call `render_async` on the event loop)."""
        return rendering.render_fleet(spec=self.spec, clusters=clusters, files=self.files)

    async def render_async(self, clusters: Iterable[Cluster]) -> FleetRender:
        """`render`, in a worker thread so that the event loop keeps serving."""
        chosen = tuple(clusters)
        return await asyncio.to_thread(self.render, chosen)

    def __repr__(self) -> str:
        return (
            f"LoadedRevision({self.revision[:12]}, {len(self.spec.bundles)} bundles, "
            f"{len(self.files)} sources)"
        )


async def load_revision(reader: RepositoryReader, revision: Revision) -> LoadedRevision:
    """Read and load ``revision``; `errors.UserError` if its `fleet.yaml` is unusable.

    A `SpecError` lists every problem of the spec; a read error names the path.
    """
    spec_file = await reader.read_file(revision, SPEC_PATH)
    spec = loading.load(spec_file.data, path=SPEC_PATH)
    sources = spec.sources()
    pins = sorted({source.revision for source in sources if source.revision is not None})
    resolved = dict(zip(pins, await asyncio.gather(*(_resolve(reader, pin) for pin in pins)),
                        strict=True))  # fmt: skip
    pinned = {pin: sha for pin, sha in resolved.items() if not isinstance(sha, errors.UserError)}
    reads = await asyncio.gather(
        *(_read_bundle(reader, source, revision=revision, resolved=resolved) for source in sources)
    )
    return LoadedRevision(
        revision=revision,
        spec=spec,
        files=dict(zip(sources, reads, strict=True)),
        pinned=pinned,
    )


async def _resolve(reader: RepositoryReader, pin: str) -> Revision | errors.UserError:
    try:
        return await reader.resolve(pin)
    except errors.UserError as error:
        return error  # reported by each bundle that uses the pin


async def _read_bundle(
    reader: RepositoryReader,
    source: BundleSource,
    *,
    revision: Revision,
    resolved: Mapping[str, Revision | errors.UserError],
) -> tuple[SourceFile, ...] | errors.UserError:
    at = resolved[source.revision] if source.revision is not None else revision
    if isinstance(at, errors.UserError):
        return at
    try:
        return await reader.read_directory(at, source.path)
    except errors.UserError as error:
        return error
