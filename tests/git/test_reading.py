"""Reading files of a commit: paths stay inside, symlinks only inside the bundle,
submodules refused, limits enforced from object headers, directories cached."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo
from prometheus_client import CollectorRegistry

from fleet.sources import mirroring, publishing
from fleet.structs import errors
from fleet.structs.objects import Revision
from fleet.structs.settings import GitSettings
from fleet.structs.sources import CommitInfo, SourceFile
from tests.git.conftest import OpenMirror

LINK, GITLINK = 0o120000, 0o160000


@dataclass(frozen=True)
class Entry:
    """A raw tree entry: any name, any mode -- what a hostile repository can hold."""

    mode: int
    content: bytes


Spec = Mapping[bytes, "bytes | Entry | Spec"]


def plant(origin: Path, spec: Spec) -> Revision:
    """Commit a tree built object by object on origin's main, bypassing every check."""
    with Repo(str(origin)) as repo:
        objects: list[ShaFile] = []

        def build(node: Spec) -> Tree:
            tree = Tree()
            for name, value in node.items():
                if isinstance(value, Mapping):
                    tree.add(name, 0o040000, build(value).id)
                elif isinstance(value, Entry) and value.mode == GITLINK:
                    tree.add(name, GITLINK, ObjectID(value.content))
                else:
                    blob = Blob.from_string(value.content if isinstance(value, Entry) else value)
                    objects.append(blob)
                    tree.add(name, value.mode if isinstance(value, Entry) else 0o100644, blob.id)
            objects.append(tree)
            return tree

        commit = Commit()
        commit.tree = build(spec).id
        commit.parents = [repo.refs[Ref(b"refs/heads/main")]]
        commit.author = commit.committer = b"Mallory <m@example.com>"
        commit.author_time = commit.commit_time = 1_900_000_000
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = b"hostile tree\n"
        repo.object_store.add_objects([(obj, None) for obj in [*objects, commit]])
        repo.refs[Ref(b"refs/heads/main")] = commit.id
        return Revision(commit.id.decode())


async def mirrored(open_mirror: OpenMirror, origin: Path, **limits: Any) -> mirroring.GitMirror:
    settings = dataclasses.replace(
        GitSettings(state_dir=origin.parent / "state", fetch_timeout=20.0), **limits
    )
    mirror = await open_mirror(str(origin), settings=settings)
    mirror.track("main")
    result = await mirror.fetch()
    assert result.outcome is mirroring.FetchOutcome.UPDATED, result.error
    return mirror


def head(mirror: mirroring.GitMirror) -> Revision:
    revision = mirror.head("main")
    assert revision is not None
    return revision


BUNDLES: Spec = {
    b"fleet.yaml": b"bundles: [web, db]\n",
    b"apps": {
        b"web": {
            b"deploy.yaml": b"kind: Deployment\n",
            b"config": {b"app.yaml": b"kind: ConfigMap\n"},
            b"alias.yaml": Entry(LINK, b"deploy.yaml"),
            b"chain.yaml": Entry(LINK, b"config/../alias.yaml"),
        },
        b"db": {b"secret.yaml": b"kind: Secret\n"},
    },
}


async def test_read_directory_returns_every_file_sorted_following_inner_symlinks(
    open_mirror: OpenMirror, origin: Path
) -> None:
    plant(origin, BUNDLES)
    mirror = await mirrored(open_mirror, origin)
    files = await mirror.read_directory(head(mirror), "./apps//web/")
    assert [(file.path, file.data) for file in files] == [
        ("apps/web/alias.yaml", b"kind: Deployment\n"),
        ("apps/web/chain.yaml", b"kind: Deployment\n"),
        ("apps/web/config/app.yaml", b"kind: ConfigMap\n"),
        ("apps/web/deploy.yaml", b"kind: Deployment\n"),
    ]
    everything = await mirror.read_directory(head(mirror), "")
    assert [file.path for file in everything][-1] == "fleet.yaml"
    assert len(everything) == 6


async def test_read_file(open_mirror: OpenMirror, origin: Path) -> None:
    plant(origin, BUNDLES)
    mirror = await mirrored(open_mirror, origin)
    assert await mirror.read_file(head(mirror), "fleet.yaml") == SourceFile(
        "fleet.yaml", b"bundles: [web, db]\n"
    )
    alias = await mirror.read_file(head(mirror), "apps/web/alias.yaml")
    assert alias.data == b"kind: Deployment\n"


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("../outside", errors.UnsafePathError, "'..' is not allowed"),
        ("apps/../../outside", errors.UnsafePathError, "'..' is not allowed"),
        ("/etc", errors.UnsafePathError, "absolute paths"),
        ("apps\\web", errors.UnsafePathError, "backslash"),
        ("apps/web\x00", errors.UnsafePathError, "NUL"),
        ("apps/nothing", errors.PathNotFoundError, "does not exist"),
        ("fleet.yaml", errors.UnsupportedEntryError, "is not a directory"),
        ("fleet.yaml/x", errors.PathNotFoundError, "is not a directory"),
    ],
)
async def test_directory_paths_that_are_refused(
    open_mirror: OpenMirror, origin: Path, path: str, error: type[Exception], message: str
) -> None:
    plant(origin, BUNDLES)
    mirror = await mirrored(open_mirror, origin)
    with pytest.raises(error, match=re.escape(message)):
        await mirror.read_directory(head(mirror), path)


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (b"../../../etc/passwd", errors.UnsafePathError, "points outside the repository"),
        (b"/etc/passwd", errors.UnsafePathError, "only relative targets"),
        (b"../db/secret.yaml", errors.UnsafePathError, "outside the directory apps/web"),
        (b"..\\db\\secret.yaml", errors.UnsafePathError, "only relative targets"),
        (b"config", errors.UnsupportedEntryError, "symlink to the directory apps/web/config"),
        (b".", errors.UnsupportedEntryError, "symlink to the directory apps/web"),
        (b"evil.yaml", errors.UnsupportedEntryError, "too many levels of symlinks"),
        (b"missing.yaml", errors.PathNotFoundError, "apps/web/missing.yaml, which does not"),
        (b"\xff\xfe", errors.UnsafePathError, "not UTF-8"),
        (b"a" * 5_000, errors.UnsafePathError, "a symlink whose target is over 4096 bytes"),
    ],
)
async def test_symlinks_that_are_never_followed(
    open_mirror: OpenMirror, origin: Path, target: bytes, error: type[Exception], message: str
) -> None:
    plant(
        origin,
        {
            b"apps": {
                b"web": {
                    b"deploy.yaml": b"kind: Deployment\n",
                    b"config": {b"app.yaml": b"x"},
                    b"evil.yaml": Entry(LINK, target),
                },
                b"db": {b"secret.yaml": b"kind: Secret\n"},
            }
        },
    )
    mirror = await mirrored(open_mirror, origin)
    with pytest.raises(error, match=re.escape(message)) as raised:
        await mirror.read_directory(head(mirror), "apps/web")
    assert str(raised.value).startswith("apps/web/evil.yaml: ")


async def test_a_file_read_may_follow_a_symlink_anywhere_inside_the_repository(
    open_mirror: OpenMirror, origin: Path
) -> None:
    plant(
        origin,
        {
            b"fleet.yaml": Entry(LINK, b"config/fleet.yaml"),
            b"config": {b"fleet.yaml": b"bundles: []\n"},
            b"escape.yaml": Entry(LINK, b"../origin.git/config"),
            b"linked": Entry(LINK, b"config"),
        },
    )
    mirror = await mirrored(open_mirror, origin)
    assert (await mirror.read_file(head(mirror), "fleet.yaml")).data == b"bundles: []\n"
    with pytest.raises(errors.UnsafePathError, match="outside the repository"):
        await mirror.read_file(head(mirror), "escape.yaml")
    with pytest.raises(errors.UnsupportedEntryError, match="does not follow symlinks"):
        await mirror.read_file(head(mirror), "linked/fleet.yaml")
    with pytest.raises(errors.UnsupportedEntryError, match="does not follow symlinks"):
        await mirror.read_directory(head(mirror), "linked")


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ({b"..": {b"x.yaml": b"x"}}, errors.UnsafePathError, "tree entry '..'"),
        ({b".": {b"x.yaml": b"x"}}, errors.UnsafePathError, "tree entry '.'"),
        ({b"a/b.yaml": b"x"}, errors.UnsafePathError, "tree entry 'a/b.yaml'"),
        ({b"a\\b.yaml": b"x"}, errors.UnsafePathError, "tree entry 'a\\\\b.yaml'"),
        ({b"\xff.yaml": b"x"}, errors.UnsafePathError, "not UTF-8"),
        ({b"vendor": Entry(GITLINK, b"a" * 40)}, errors.UnsupportedEntryError, "is a submodule"),
    ],
)
async def test_hostile_tree_entries_are_refused(
    open_mirror: OpenMirror, origin: Path, spec: Spec, error: type[Exception], message: str
) -> None:
    plant(origin, {b"bundle": spec})
    mirror = await mirrored(open_mirror, origin)
    with pytest.raises(error, match=re.escape(message)):
        await mirror.read_directory(head(mirror), "bundle")


@pytest.mark.parametrize(
    ("limits", "limit", "where"),
    [
        ({"max_file_bytes": 99}, "max_file_bytes=99", "big/a.yaml"),
        ({"max_files_per_read": 2}, "max_files_per_read=2", "big"),
        ({"max_read_bytes": 250}, "max_read_bytes=250", "big"),
        ({"max_read_bytes": 60}, "max_read_bytes=60", "big"),  # the tree of big alone
    ],
)
async def test_limits(
    open_mirror: OpenMirror,
    origin: Path,
    limits: dict[str, int],
    limit: str,
    where: str,
) -> None:
    plant(origin, {b"big": {b"a.yaml": b"a" * 100, b"b.yaml": b"b" * 100, b"c.yaml": b"c" * 100}})
    mirror = await mirrored(open_mirror, origin, **limits)
    with pytest.raises(errors.SourceLimitError, match=re.escape(limit)) as raised:
        await mirror.read_directory(head(mirror), "big")
    assert raised.value.where == where
    assert raised.value.limit == limit.split("=", maxsplit=1)[0]


async def test_within_the_limits_is_fine(open_mirror: OpenMirror, origin: Path) -> None:
    plant(origin, {b"big": {b"a.yaml": b"a" * 100, b"b.yaml": b"b" * 100}})
    mirror = await mirrored(
        open_mirror, origin, max_file_bytes=100, max_files_per_read=2, max_read_bytes=10_000
    )
    assert len(await mirror.read_directory(head(mirror), "big")) == 2


async def test_a_file_over_the_limit_is_refused_before_it_is_inflated(
    open_mirror: OpenMirror, origin: Path, metrics_registry: CollectorRegistry
) -> None:
    plant(origin, {b"huge.yaml": b"x" * 2_000_000, b"small.yaml": b"y"})
    mirror = await mirrored(open_mirror, origin, max_file_bytes=1_000)
    with pytest.raises(errors.SourceLimitError, match="is 2000000 bytes"):
        await mirror.read_file(head(mirror), "huge.yaml")
    inflated = metrics_registry.get_sample_value("fleet_git_read_bytes_total", {"url": str(origin)})
    assert inflated is not None
    assert inflated < 1_000


async def test_unchanged_directories_are_read_once(
    open_mirror: OpenMirror, origin: Path, metrics_registry: CollectorRegistry
) -> None:
    bundle: Spec = {b"web": {b"a.yaml": b"a" * 5_000, b"b.yaml": b"b" * 5_000}}
    plant(origin, {**bundle, b"fleet.yaml": b"one"})
    mirror = await mirrored(open_mirror, origin)
    first = await mirror.read_directory(head(mirror), "web")
    plant(origin, {**bundle, b"fleet.yaml": b"two"})
    await mirror.fetch()

    def inflated() -> float:
        labels = {"url": str(origin)}
        return metrics_registry.get_sample_value("fleet_git_read_bytes_total", labels) or 0.0

    before = inflated()
    again = await mirror.read_directory(head(mirror), "web")
    assert again == first
    assert inflated() - before < 1_000  # the new root tree, not the 10,000 bytes of files
    await mirror.read_directory(head(mirror), "")
    assert inflated() - before > 10_000  # a different directory is a different entry


async def test_resolve(open_mirror: OpenMirror, origin: Path) -> None:
    first = publishing.publish_files(origin, files={"a": b"1"}, message="one")
    mirror = await mirrored(open_mirror, origin)
    with Repo(str(origin)) as repo:
        repo.refs[Ref(b"refs/tags/light")] = ObjectID(first.encode())
        tag = Tag()
        tag.name, tag.tagger, tag.message = b"v1.0", b"t <t@example.com>", b"release\n"
        tag.object = (Commit, ObjectID(first.encode()))
        tag.tag_time, tag.tag_timezone = 1_900_000_000, 0
        repo.object_store.add_object(tag)
        repo.refs[Ref(b"refs/tags/v1.0")] = tag.id
        blob = Blob.from_string(b"not a commit")
        repo.object_store.add_object(blob)
        repo.refs[Ref(b"refs/tags/blob")] = blob.id
    second = publishing.publish_files(origin, files={"a": b"2"}, message="two")
    await mirror.fetch()
    assert await mirror.resolve("main") == second
    assert await mirror.resolve("refs/heads/main") == second
    assert await mirror.resolve("heads/main") == second
    assert await mirror.resolve("light") == first
    assert await mirror.resolve("v1.0") == first
    assert await mirror.resolve(first) == first
    assert await mirror.resolve(first.upper()) == first
    assert await mirror.resolve(first[:7]) == first
    for name, message in [
        ("nope", "no such branch, tag or commit"),
        ("blob", "names no commit"),
        ("0" * 40, "not in the mirror"),
        ("main..other", "not a revision name"),
        ("", "not a revision name"),
    ]:
        with pytest.raises(errors.UnknownRevisionError, match=re.escape(message)):
            await mirror.resolve(name)


async def test_commit_info(open_mirror: OpenMirror, origin: Path) -> None:
    with Repo(str(origin)) as repo:
        main = Ref(b"refs/heads/main")
        parent = repo[repo.refs[main]]
        assert isinstance(parent, Commit)
        commit = Commit()
        commit.tree, commit.parents = parent.tree, [parent.id]
        commit.author = "Zoë Author <zoe@example.com>".encode()
        commit.committer = b"CI Bot <ci@example.com>"
        commit.author_time, commit.author_timezone = 1_800_000_000, 2 * 3600
        commit.commit_time, commit.commit_timezone = 1_900_000_000, -5 * 3600
        commit.message = b"Scale web to 5\n\nBecause of the launch.\n"
        repo.object_store.add_object(commit)
        repo.refs[main] = commit.id
    revision = Revision(commit.id.decode())
    mirror = await mirrored(open_mirror, origin)
    info = await mirror.commit_info(revision)
    assert info == CommitInfo(
        revision=revision,
        author="Zoë Author <zoe@example.com>",
        authored_at=datetime(2027, 1, 15, 8, 0, tzinfo=UTC),
        committer="CI Bot <ci@example.com>",
        committed_at=datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC),
        message="Scale web to 5\n\nBecause of the launch.\n",
    )
    assert (info.authored_at.timestamp(), info.committed_at.timestamp()) == (
        1_800_000_000,
        1_900_000_000,
    )
    assert info.summary == "Scale web to 5"
    with pytest.raises(errors.UnknownRevisionError, match="not a full commit SHA"):
        await mirror.commit_info(Revision(revision[:10]))
    with pytest.raises(errors.UnknownRevisionError, match="not a commit"):
        await mirror.commit_info(Revision(commit.tree.decode()))


async def test_reader_repr(open_mirror: OpenMirror, origin: Path) -> None:
    mirror = await mirrored(open_mirror, origin)
    await mirror.read_directory(head(mirror), "apps")
    assert re.fullmatch(
        r"RepositoryReader\('.*', cached=1 directories, 17 bytes\)", repr(mirror._reader)
    )


async def test_submodules_are_refused_wherever_they_are_met(
    open_mirror: OpenMirror, origin: Path
) -> None:
    plant(origin, {b"bundle": {b"vendor": Entry(GITLINK, b"a" * 40)}})
    mirror = await mirrored(open_mirror, origin)
    for read in (
        mirror.read_directory(head(mirror), "bundle/vendor"),
        mirror.read_file(head(mirror), "bundle/vendor/x.yaml"),
        mirror.read_file(head(mirror), "bundle/vendor"),
    ):
        with pytest.raises(errors.UnsupportedEntryError, match="bundle/vendor: is a submodule"):
            await read
