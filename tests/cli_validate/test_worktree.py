"""Reading a working tree: the same answers and the same errors as reading the same files
from a commit, and what only a disk can hold (``.git``, FIFOs, odd names) refused."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dulwich.repo import Repo

from fleet.sources import publishing, reading, worktree
from fleet.structs import errors
from fleet.structs.objects import Revision
from fleet.structs.settings import GitSettings
from fleet.structs.sources import SourceFile


@dataclass(frozen=True)
class Link:
    target: str | bytes


Layout = Mapping[str, "bytes | Link | Layout"]


def build(root: Path, layout: Layout) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, value in layout.items():
        path = root / name
        if isinstance(value, Link):
            os.symlink(value.target, path)
        elif isinstance(value, bytes):
            path.write_bytes(value)
        else:
            build(path, value)
    return root


BUNDLES: Layout = {
    "fleet.yaml": b"bundles: [web, db]\n",
    "apps": {
        "web": {
            "deploy.yaml": b"kind: Deployment\n",
            "config": {"app.yaml": b"kind: ConfigMap\n"},
            "alias.yaml": Link("deploy.yaml"),
            "chain.yaml": Link("config/../alias.yaml"),
        },
        "db": {"secret.yaml": b"kind: Secret\n"},
    },
}


def _evil(target: str) -> Layout:
    web: Layout = {"deploy.yaml": b"kind: Deployment\n", "config": {"app.yaml": b"x"}}
    return {
        "apps": {
            "web": {**web, "evil.yaml": Link(target)},
            "db": {"secret.yaml": b"kind: Secret\n"},
        }
    }


BIG: Layout = {"big": {"a.yaml": b"a" * 100, "b.yaml": b"b" * 100, "c.yaml": b"c" * 100}}
LINKS: Layout = {
    "fleet.yaml": Link("config/fleet.yaml"),
    "config": {"fleet.yaml": b"bundles: []\n"},
    "escape.yaml": Link("../outside.yaml"),
    "linked": Link("config"),
}

# (layout, read, path, limits): each read on disk must answer as the read of a commit.
PARITY: list[Any] = [
    pytest.param(BUNDLES, "directory", "./apps//web/", {}, id="inner symlinks followed"),
    pytest.param(BUNDLES, "directory", "", {}, id="the whole tree"),
    pytest.param(BUNDLES, "file", "fleet.yaml", {}, id="a file"),
    pytest.param(BUNDLES, "file", "apps/web/alias.yaml", {}, id="a file through a symlink"),
    *(
        pytest.param(BUNDLES, "directory", path, {}, id=f"path {path!r}")
        for path in (
            "../outside",
            "apps/../../outside",
            "/etc",
            "apps\\web",
            "apps/web\x00",
            "apps/nothing",
            "fleet.yaml",
            "fleet.yaml/x",
        )
    ),
    pytest.param(BUNDLES, "file", "apps", {}, id="a directory read as a file"),
    pytest.param(BUNDLES, "file", "", {}, id="the root read as a file"),
    *(
        pytest.param(_evil(target), "directory", "apps/web", {}, id=f"symlink to {target}")
        for target in (
            "../../../etc/passwd",
            "/etc/passwd",
            "../db/secret.yaml",
            "..\\db\\secret.yaml",
            "config",
            ".",
            "evil.yaml",
            "missing.yaml",
        )
    ),
    pytest.param(LINKS, "file", "fleet.yaml", {}, id="a file read follows a link anywhere"),
    pytest.param(LINKS, "file", "escape.yaml", {}, id="but not outside the tree"),
    pytest.param(LINKS, "file", "linked/fleet.yaml", {}, id="nor through a linked directory"),
    pytest.param(LINKS, "directory", "linked", {}, id="a linked directory is not read"),
    pytest.param(BIG, "directory", "big", {"max_file_bytes": 99}, id="max_file_bytes"),
    pytest.param(BIG, "directory", "big", {"max_files_per_read": 2}, id="max_files_per_read"),
    pytest.param(BIG, "directory", "big", {"max_read_bytes": 250}, id="max_read_bytes"),
    pytest.param(
        BIG,
        "directory",
        "big",
        # A commit's read also counts the trees it inflates, a disk's has none: a read
        # within max_read_bytes by a few hundred bytes is not within it in both.
        {"max_file_bytes": 100, "max_files_per_read": 3, "max_read_bytes": 1_000},
        id="just within every limit",
    ),
]


def _answer(call: Any) -> Any:
    """What a read returned, or the type and text of what it raised."""
    try:
        return call()
    except errors.UserError as error:
        return type(error).__name__, str(error)


def _ignore(size: int) -> None:
    pass


def _settings(**limits: int) -> GitSettings:
    return dataclasses.replace(GitSettings(), **limits)  # type: ignore[arg-type]


async def _read(tree: worktree.WorkingTree, kind: str, path: str, revision: Revision) -> Any:
    if kind == "file":
        return await tree.read_file(revision, path)
    return await tree.read_directory(revision, path)


@pytest.mark.parametrize(("layout", "kind", "path", "limits"), PARITY)
async def test_a_working_tree_reads_as_its_commit_would(
    tmp_path: Path, layout: Layout, kind: str, path: str, limits: dict[str, int]
) -> None:
    settings = _settings(**limits)
    root = build(tmp_path / "tree", layout)
    (tmp_path / "outside.yaml").write_bytes(b"kind: Secret\n")
    revision = publishing.publish_directory(tmp_path / "git", directory=root, message="same")
    committed = reading.RepositoryReader(tmp_path / "git", settings=settings, count_bytes=_ignore)
    try:
        read = committed.read_file if kind == "file" else committed.read_directory
        expected = _answer(lambda: read(revision, path))
    finally:
        committed.close()
    async with await worktree.WorkingTree.open(root, settings=settings) as tree:
        try:
            found = await _read(tree, kind, path, worktree.WORKING_TREE)
        except errors.UserError as error:
            found = (type(error).__name__, str(error))
    assert found == expected


async def _disk(root: Path, kind: str, path: str, **limits: int) -> Any:
    async with await worktree.WorkingTree.open(root, settings=_settings(**limits)) as tree:
        return await _read(tree, kind, path, worktree.WORKING_TREE)


GIT_DIR: Layout = {
    ".git": {"config": b"[core]\n", "HEAD": b"ref: refs/heads/main\n"},
    "fleet.yaml": b"kind: Fleet\n",
    "apps": {
        "web": {"a.yaml": b"a: 1\n", "vendor": {".git": b"gitdir: ../x\n", "v.yaml": b"v\n"}},
        "sub": {".git": {}, "s.yaml": b"s\n"},
        "peek.yaml": Link("../.git/config"),
    },
}


@pytest.mark.parametrize(
    ("layout", "kind", "path", "error", "message"),
    [
        (GIT_DIR, "file", ".git/config", errors.UnsafePathError, ".git: is Git's own data"),
        (GIT_DIR, "file", ".GIT/config", errors.UnsafePathError, ".GIT: is Git's own data"),
        (GIT_DIR, "directory", ".git", errors.UnsafePathError, ".git: is Git's own data"),
        (GIT_DIR, "file", "apps/peek.yaml", errors.UnsafePathError, ".git: is Git's own data"),
        (
            GIT_DIR,
            "directory",
            "apps/web",
            errors.UnsupportedEntryError,
            "apps/web/vendor: is a Git repository of its own (a submodule)",
        ),
        (
            GIT_DIR,
            "directory",
            "apps/sub",
            errors.UnsupportedEntryError,
            "apps/sub: is a Git repository of its own (a submodule)",
        ),
        (
            GIT_DIR,
            "file",
            "apps/web/vendor/v.yaml",
            errors.UnsupportedEntryError,
            "apps/web/vendor: is a Git repository of its own",
        ),
        (
            GIT_DIR,
            "file",
            "apps/sub",
            errors.UnsupportedEntryError,
            "apps/sub: is a Git repository of its own",
        ),
        (
            {"b": {"a\\b.yaml": b"x"}},
            "directory",
            "b",
            errors.UnsafePathError,
            "b: tree entry 'a\\\\b.yaml' is not a plain file name",
        ),
        (
            {"b": {"l.yaml": Link(b"\xff\xfe")}},
            "directory",
            "b",
            errors.UnsafePathError,
            "b/l.yaml: symlink target is not UTF-8",
        ),
    ],
)
async def test_what_only_a_disk_holds(
    tmp_path: Path, layout: Layout, kind: str, path: str, error: type[Exception], message: str
) -> None:
    root = build(tmp_path / "tree", layout)
    with pytest.raises(error) as raised:
        await _disk(root, kind, path)
    assert str(raised.value).startswith(message)


async def test_the_root_holding_git_is_read_without_it(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", {**GIT_DIR, "apps": {"a.yaml": b"a\n"}})
    files = await _disk(root, "directory", "")
    assert [file.path for file in files] == ["apps/a.yaml", "fleet.yaml"]


async def test_a_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", {"b": {}})
    (root / "b").joinpath(os.fsdecode(b"\xff.yaml")).write_bytes(b"x")
    with pytest.raises(errors.UnsafePathError, match="entry name is not UTF-8"):
        await _disk(root, "directory", "b")


async def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", {"b": {"a.yaml": b"a\n"}})
    os.mkfifo(root / "b" / "pipe.yaml")
    for kind, path in (("directory", "b"), ("file", "b/pipe.yaml")):
        with pytest.raises(errors.UnsupportedEntryError, match="is not a regular file"):
            await _disk(root, kind, path)


async def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", {"b": {"huge.yaml": b""}})
    with (root / "b" / "huge.yaml").open("wb") as file:
        file.truncate(1 << 40)  # a sparse terabyte: reading it would not end
    with pytest.raises(errors.SourceLimitError) as raised:
        await _disk(root, "directory", "b")
    assert str(raised.value) == (
        f"b/huge.yaml: is {1 << 40} bytes (limit max_file_bytes={GitSettings().max_file_bytes})"
    )


async def test_a_root_that_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    for root in (tmp_path / "file", tmp_path / "absent"):
        with pytest.raises(errors.UserError, match="is not a directory"):
            await worktree.WorkingTree.open(root, settings=GitSettings())


async def test_pinned_revisions_need_git(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", BUNDLES)
    async with await worktree.WorkingTree.open(root, settings=GitSettings()) as tree:
        assert repr(tree) == f"WorkingTree({str(root)!r}, not in Git)"
        assert not tree.in_git
        pinned = await tree.resolve("4b1c0de")
        with pytest.raises(errors.UnknownRevisionError) as raised:
            await tree.read_directory(pinned, "apps/web")
    assert str(raised.value) == (
        f"the pinned revision 4b1c0de needs a Git repository, and {root} is not inside one"
    )


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, Revision]:
    """A non-bare repository whose fleet lives in ``fleet/``, with one commit of it, and
    a working tree that has changed since."""
    path = tmp_path / "clone"
    Repo.init(str(path), mkdir=True).close()
    old = publishing.publish_files(
        path,
        files={
            "README.md": b"monorepo\n",
            "fleet/apps/web/a.yaml": b"version: old\n",
            "fleet/apps/web/link.yaml": publishing.Symlink("a.yaml"),
            "secret.yaml": b"kind: Secret\n",
        },
        message="old",
    )
    build(path / "fleet", {"apps": {"web": {"a.yaml": b"version: new\n"}}})
    return path, old


async def test_pinned_revisions_are_read_from_the_repository_around_the_tree(
    clone: tuple[Path, Revision],
) -> None:
    path, old = clone
    async with await worktree.WorkingTree.open(path / "fleet", settings=GitSettings()) as tree:
        assert repr(tree) == f"WorkingTree({str(path / 'fleet')!r}, in Git at fleet)"
        assert await tree.resolve(old[:7]) == old
        pinned = await tree.read_directory(old, "apps/web")
        now = await tree.read_directory(worktree.WORKING_TREE, "apps/web")
        file = await tree.read_file(old, "apps/web/a.yaml")
        with pytest.raises(errors.UnsafePathError, match=re.escape("'..' is not allowed")):
            await tree.read_directory(old, "../secret.yaml")
        with pytest.raises(errors.UnknownRevisionError, match="no such branch, tag or commit"):
            await tree.resolve("0badc0de")
    assert pinned == (
        SourceFile("apps/web/a.yaml", b"version: old\n"),
        SourceFile("apps/web/link.yaml", b"version: old\n"),
    )
    assert now == (SourceFile("apps/web/a.yaml", b"version: new\n"),)
    assert file == SourceFile("apps/web/a.yaml", b"version: old\n")


async def test_concurrent_reads_of_one_tree_agree(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", BUNDLES)
    async with await worktree.WorkingTree.open(root, settings=GitSettings()) as tree:
        reads = await asyncio.gather(
            *(tree.read_directory(worktree.WORKING_TREE, "apps") for _ in range(8))
        )
    assert len({tuple(read) for read in reads}) == 1
