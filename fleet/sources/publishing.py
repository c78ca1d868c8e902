"""Publishing a tree of files as a new commit on a branch of a local repository.

`fleet demo` publishes the example `clusters/` directory with this, and the tests and
benchmarks of every part of fleet make their commits with it, so nobody needs a `git`
binary or a working copy. A commit here is a snapshot: the branch's new tree is exactly
the files given (what a CI job that renders a directory and pushes it would produce),
with the previous head as parent -- or none, to rewrite history as a force-push does.

The functions block (they write objects to disk); from async code call them through
`asyncio.to_thread`. The new objects of one commit are written as one pack, so
publishing 20,000 files costs one file write, not 20,000, and a commit that changes
one file writes one blob and the trees above it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dulwich.objects import Blob, Commit, ShaFile, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from fleet.sources import fetching, reading
from fleet.structs.objects import Revision

_FILE_MODE = 0o100644
_LINK_MODE = 0o120000
_TREE_MODE = 0o040000


@dataclass(frozen=True, slots=True)
class Symlink:
    """A symbolic link entry; ``target`` is stored as written (relative, usually)."""

    target: str


def publish_files(
    repository: Path,
    *,
    files: Mapping[str, bytes | Symlink],
    message: str,
    branch: str = "main",
    author: str = "fleet <fleet@localhost>",
    when: datetime | None = None,
    replace_history: bool = False,
) -> Revision:
    """Commit ``files`` (path -> content) as the whole tree of ``branch``.

    Creates ``repository`` as a bare repository if it does not exist. With
    ``replace_history`` the commit has no parent, as after a force-push.
    """
    ref = Ref(fetching.branch_ref(branch))
    if not (repository / "objects").is_dir() and not (repository / ".git").is_dir():
        repository.mkdir(parents=True, exist_ok=True)
        Repo.init_bare(str(repository), default_branch=ref.removeprefix(b"refs/heads/")).close()
    with Repo(str(repository)) as repo:
        objects: dict[bytes, ShaFile] = {}
        root = _tree(_nest(files), objects)
        parent = repo.refs.as_dict().get(ref)
        commit = Commit()
        commit.tree = root.id
        commit.parents = [] if replace_history or parent is None else [parent]
        commit.author = commit.committer = author.encode()
        moment = int((when or datetime.now(UTC)).timestamp())
        commit.author_time = commit.commit_time = moment
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = message.encode() if message.endswith("\n") else f"{message}\n".encode()
        objects[commit.id] = commit
        store = repo.object_store
        store.add_objects([(obj, None) for obj in objects.values() if obj.id not in store])
        if not repo.refs.set_if_equals(ref, parent, commit.id):
            raise RuntimeError(f"{branch} moved while publishing; publish again")
        return Revision(commit.id.decode())


def publish_directory(
    repository: Path,
    *,
    directory: Path,
    message: str,
    branch: str = "main",
    author: str = "fleet <fleet@localhost>",
    when: datetime | None = None,
) -> Revision:
    """Commit every file under ``directory`` (symlinks kept as symlinks) as the tree of
    ``branch``; see `publish_files`."""
    files: dict[str, bytes | Symlink] = {}
    for folder, subfolders, names in os.walk(directory):
        base = Path(folder)
        links = [name for name in subfolders if (base / name).is_symlink()]
        for name in [*names, *links]:
            path = base / name
            relative = path.relative_to(directory).as_posix()
            files[relative] = Symlink(os.readlink(path)) if path.is_symlink() else path.read_bytes()
    return publish_files(
        repository, files=files, message=message, branch=branch, author=author, when=when
    )


_Nested = dict[str, "bytes | Symlink | _Nested"]


def _nest(files: Mapping[str, bytes | Symlink]) -> _Nested:
    root: _Nested = {}
    for path, content in files.items():
        *folders, name = reading.normalize(path).split("/")
        node = root
        for folder in folders:
            child = node.setdefault(folder, {})
            if not isinstance(child, dict):
                raise ValueError(f"{path}: {folder} is both a file and a directory")
            node = child
        if not name or name in node:
            raise ValueError(f"{path}: given twice, or as a directory and a file")
        node[name] = content
    return root


def _tree(node: _Nested, objects: dict[bytes, ShaFile]) -> Tree:
    tree = Tree()
    for name, content in node.items():
        if isinstance(content, dict):
            sha, mode = _tree(content, objects).id, _TREE_MODE
        else:
            blob = Blob.from_string(
                content.target.encode() if isinstance(content, Symlink) else content
            )
            objects[blob.id] = blob
            sha, mode = blob.id, _LINK_MODE if isinstance(content, Symlink) else _FILE_MODE
        tree.add(name.encode(), mode, sha)
    objects[tree.id] = tree
    return tree
