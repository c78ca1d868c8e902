"""Reading files of one commit straight from a mirror's object store, safely.

Nothing is checked out: a read walks the commit's trees and inflates the blobs it
needs, so one mirror serves any number of revisions at once without a working copy.

Everything in a tree is untrusted. A tree built by hand can hold entries named ``..``
or ``a/b``, symlinks to ``/etc/passwd`` or to another bundle, submodules, and blobs of
any size. So a read:

- resolves every path lexically inside the repository and refuses ``..``, absolute
  paths, backslashes and NUL, in the caller's path and in every entry name;
- follows a symlink only when it points at a file inside the directory being read
  (the bundle; the repository for a single-file read), up to a few hops; a symlink to a
  directory, or that leaves that directory, is an error and is never followed -- so a
  read never sees the same file twice and never loops;
- refuses submodules: their content is in another repository fleet does not fetch;
- checks every object's size from its header before inflating it, and counts files and
  bytes against the limits of `GitSettings`, raising `SourceLimitError` at the first
  one passed -- an error for that bundle, never an out-of-memory for the process.

The rules are written once: `normalize`, `follow_links`, `entry_path`, `refuse_link`
and `ReadBudget` serve the reads of a working tree too
(`fleet.sources.worktree`, for `fleet validate`), so that a check before a push refuses
exactly what the controller will.

A `RepositoryReader` is not thread-safe; its mirror calls it from one thread, off the
event loop. Directory reads are cached by the directory's tree SHA: trees are immutable
and content-addressed, so a bundle unchanged between two commits is read once.
"""

from __future__ import annotations

import enum
import posixpath
import re
import stat
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

from dulwich.objects import S_ISGITLINK, Blob, Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from fleet.sources import sizing
from fleet.structs import errors
from fleet.structs.objects import Revision
from fleet.structs.settings import GitSettings
from fleet.structs.sources import CommitInfo, SourceFile

_MAX_SYMLINK_HOPS = 8
_MAX_SYMLINK_TARGET = 4096
_MAX_TAG_DEPTH = 8
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{4,39}$")

_TREE_CACHE_BYTES = 8 << 20
"""Parsed trees kept between reads: reading 1,000 bundles parses ``bundles/`` (1,000
entries) once instead of 1,000 times."""

_Object = TypeVar("_Object", bound=ShaFile)
_Key = TypeVar("_Key")
_Entry = TypeVar("_Entry")
_Value = TypeVar("_Value")


class _Cache(Generic[_Key, _Value]):
    """Least recently used entries up to a total size; an entry bigger than the whole
    budget is not kept."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._entries: OrderedDict[_Key, tuple[_Value, int]] = OrderedDict()
        self.size = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: _Key) -> _Value | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: _Key, value: _Value, size: int) -> None:
        if size > self._budget or key in self._entries:
            return
        self._entries[key] = (value, size)
        self.size += size
        while self.size > self._budget:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.size -= evicted


def normalize(path: str) -> str:
    """A caller's path as ``a/b/c`` (``""`` for the root); refuses anything that could
    leave the repository."""
    if "\x00" in path or "\\" in path:
        raise errors.UnsafePathError(
            "NUL and backslash are not allowed in a path", where=_show(path)
        )
    if path.startswith("/"):
        raise errors.UnsafePathError("absolute paths are not allowed", where=_show(path))
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise errors.UnsafePathError("'..' is not allowed in a path", where=_show(path))
    return "/".join(parts)


class RepositoryReader:
    """Reads commits, files and directories of one bare repository."""

    def __init__(
        self, path: Path, *, settings: GitSettings, count_bytes: Callable[[int], None]
    ) -> None:
        self._repo = Repo(str(path))
        self._settings = settings
        self._count_bytes = count_bytes
        self._directories: _Cache[tuple[ObjectID, str], tuple[SourceFile, ...]] = _Cache(
            settings.read_cache_bytes
        )
        self._trees: _Cache[ObjectID, Tree] = _Cache(_TREE_CACHE_BYTES)

    def __repr__(self) -> str:
        return (
            f"RepositoryReader({self._repo.path!r}, cached={len(self._directories)} "
            f"directories, {self._directories.size} bytes)"
        )

    def close(self) -> None:
        self._repo.close()

    def resolve(self, name: str) -> Revision:
        """A branch, tag, ``refs/...`` name, full or short SHA, as a full commit SHA.

        Names are tried in Git's order (gitrevisions(7)): a full SHA, then
        ``refs/<name>``, ``refs/tags/<name>``, ``refs/heads/<name>``, then a unique
        short SHA. Branches resolve to the mirror's last good commit.
        """
        where = f"revision {name!r}"
        if not name or any(c in name for c in "\x00\\ ~^:?*[") or ".." in name:
            raise errors.UnknownRevisionError("not a revision name", where=where)
        lowered = name.lower()
        if _FULL_SHA.match(lowered):
            return self._peel(ObjectID(lowered.encode()), where=where)
        refs = self._repo.refs
        for candidate in (name, f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}"):
            if candidate.startswith("refs/") and Ref(candidate.encode()) in refs:
                return self._peel(refs[Ref(candidate.encode())], where=where)
        if _SHORT_SHA.match(lowered):
            matches = {
                self._peel(sha, where=where)
                for sha in self._repo.object_store.iter_prefix(lowered.encode())
                if self._is_commitish(sha)
            }
            if len(matches) == 1:
                return matches.pop()
            if matches:
                raise errors.UnknownRevisionError(
                    f"ambiguous: {len(matches)} commits start with it", where=where
                )
        raise errors.UnknownRevisionError("no such branch, tag or commit", where=where)

    def commit_info(self, revision: Revision) -> CommitInfo:
        commit = self._commit(revision)
        return CommitInfo(
            revision=revision,
            author=_text(commit.author),
            authored_at=datetime.fromtimestamp(commit.author_time, tz=UTC),
            committer=_text(commit.committer),
            committed_at=datetime.fromtimestamp(commit.commit_time, tz=UTC),
            message=_text(commit.message),
        )

    def read_file(self, revision: Revision, path: str) -> SourceFile:
        """One file; a symlink is followed if it stays inside the repository."""
        wanted = normalize(path)
        if not wanted:
            raise errors.UnsupportedEntryError("is a directory, not a file", where="/")
        with self._walk(root="") as walk:
            root = walk.load(self._commit(revision).tree, Tree, "/")
            mode, sha = walk.entry(root, wanted)
            if stat.S_ISDIR(mode):
                raise errors.UnsupportedEntryError("is a directory, not a file", where=wanted)
            return SourceFile(wanted, walk.file_data(root, wanted, mode, sha))

    def read_directory(self, revision: Revision, path: str) -> tuple[SourceFile, ...]:
        """Every file under ``path``, recursively, sorted by path."""
        wanted = normalize(path)
        with self._walk(root=wanted) as walk:
            root = walk.load(self._commit(revision).tree, Tree, "/")
            directory = root.id
            if wanted:
                mode, directory = walk.entry(root, wanted)
                refuse_link(mode, wanted)
                if not stat.S_ISDIR(mode):
                    raise errors.UnsupportedEntryError("is not a directory", where=wanted)
            cached = self._directories.get((directory, wanted))
            if cached is not None:
                return cached
            files = tuple(
                SourceFile(file_path, walk.file_data(root, file_path, mode, sha))
                for file_path, mode, sha in sorted(walk.files(directory, wanted))
            )
        self._directories.put((directory, wanted), files, sum(len(file.data) for file in files))
        return files

    def _walk(self, *, root: str) -> _Walk:
        return _Walk(
            self._repo, self._settings, root=root, count=self._count_bytes, trees=self._trees
        )

    def _commit(self, revision: Revision) -> Commit:
        where = f"revision {revision!r}"
        if not _FULL_SHA.match(revision):
            raise errors.UnknownRevisionError("not a full commit SHA", where=where)
        try:
            commit = self._repo.object_store[ObjectID(revision.encode())]
        except KeyError:
            raise errors.UnknownRevisionError("not in the mirror", where=where) from None
        if not isinstance(commit, Commit):
            raise errors.UnknownRevisionError("not a commit", where=where)
        return commit

    def _peel(self, sha: ObjectID, *, where: str) -> Revision:
        for _ in range(_MAX_TAG_DEPTH):
            try:
                found = self._repo.object_store[sha]
            except KeyError:
                raise errors.UnknownRevisionError("not in the mirror", where=where) from None
            if isinstance(found, Commit):
                return Revision(found.id.decode())
            if not isinstance(found, Tag):
                raise errors.UnknownRevisionError("names no commit", where=where)
            sha = found.object[1]
        raise errors.UnknownRevisionError("tags nested too deep", where=where)

    def _is_commitish(self, sha: ObjectID) -> bool:
        return isinstance(self._repo.object_store[sha], Commit | Tag)


class _Walk:
    """One read: the limits it has used so far, and the object headers it may consult."""

    def __init__(
        self,
        repo: Repo,
        settings: GitSettings,
        *,
        root: str,
        count: Callable[[int], None],
        trees: _Cache[ObjectID, Tree],
    ) -> None:
        self._store = repo.object_store
        self._trees = trees
        self._settings = settings
        self._root = root
        self._count = count
        self._sizes = sizing.ObjectSizes(self._store)
        self._budget = ReadBudget(settings, root=root)

    def __enter__(self) -> _Walk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sizes.close()

    def load(self, sha: ObjectID, kind: type[_Object], path: str, *, link: bool = False) -> _Object:
        """The object, after checking its size (`ReadBudget.check`); ``link`` says that the
        blob is a symlink's target rather than a file."""
        what = Size.TREE if kind is Tree else Size.LINK if link else Size.FILE
        cached = self._trees.get(sha) if kind is Tree else None
        if isinstance(cached, kind):
            self._budget.check(cached.raw_length(), path, what)
            self._budget.take(cached.raw_length())
            return cached
        size = self._sizes.size(sha)
        if size is not None:
            self._budget.check(size, path, what)
        try:
            found = self._store[sha]
        except KeyError:
            raise errors.PathNotFoundError(
                f"object {sha.decode()} is missing from the mirror", where=path
            ) from None
        if not isinstance(found, kind):
            raise errors.UnsupportedEntryError(f"is a {found.type_name.decode()}", where=path)
        raw = found.raw_length()
        if size is None:
            self._budget.check(raw, path, what)
        self._budget.take(raw)
        self._count(raw)
        if isinstance(found, Tree):
            self._trees.put(sha, found, raw)
        return found

    def entry(self, root: Tree, path: str) -> tuple[int, ObjectID]:
        """Mode and SHA of the entry at ``path`` (a normalized path; ``""`` is the root);
        every directory on the way must be a real directory."""
        if not path:
            return stat.S_IFDIR, root.id
        tree, walked = root, ""
        parts = path.split("/")
        for index, name in enumerate(parts):
            walked = f"{walked}/{name}" if walked else name
            try:
                mode, sha = tree[name.encode()]
            except KeyError:
                raise errors.PathNotFoundError("does not exist", where=walked) from None
            if index == len(parts) - 1:
                return mode, sha
            refuse_link(mode, walked)
            if not stat.S_ISDIR(mode):
                raise errors.PathNotFoundError(f"is not a directory (reading {path})", where=walked)
            tree = self.load(sha, Tree, walked)
        raise AssertionError("unreachable: a normalized path has at least one part")

    def files(self, directory: ObjectID, prefix: str) -> Iterator[tuple[str, int, ObjectID]]:
        """Path, mode and SHA of every non-directory entry below ``directory``."""
        pending = [(prefix, directory)]
        while pending:
            base, sha = pending.pop()
            tree = self.load(sha, Tree, base or "/")
            for entry in tree.iteritems():
                path = entry_path(base, entry.path)
                if stat.S_ISDIR(entry.mode):
                    pending.append((path, entry.sha))
                    continue
                self._budget.count_file()
                yield path, entry.mode, entry.sha

    def file_data(self, root: Tree, path: str, mode: int, sha: ObjectID) -> bytes:
        """The content of the file at ``path``, following symlinks that stay inside the
        read's root directory."""
        _, (_, sha) = follow_links(
            path,
            (mode, sha),
            root=self._root,
            mode_of=lambda entry: entry[0],
            link_of=self._link,
            find=lambda target: self.entry(root, target),
        )
        return self.load(sha, Blob, path).data

    def _link(self, path: str, entry: tuple[int, ObjectID]) -> bytes:
        return self.load(entry[1], Blob, path, link=True).data


class Size(enum.Enum):
    """What an object whose size `ReadBudget.check`s is: each has its own bound."""

    FILE = "file"
    LINK = "symlink target"
    TREE = "tree"


class ReadBudget:
    """What one read has taken of the limits of `GitSettings`: files and bytes.

    Shared by reads of a commit and of a working tree (`fleet.sources.worktree`), so that
    both refuse the same reads with the same `SourceLimitError`.
    """

    def __init__(self, settings: GitSettings, *, root: str) -> None:
        self._settings = settings
        self._root = root
        self._files = 0
        self._bytes = 0

    def check(self, size: int, path: str, what: Size) -> None:
        """Refuse an object of ``size`` bytes at ``path`` before it is read: a file against
        ``max_file_bytes``, a symlink's target against a fixed bound (no setting: a path
        is short), and every object against what is left of ``max_read_bytes``. A tree
        has no bound of its own (a big directory is bounded by the file count and the
        read's bytes); the error names the limit that was passed."""
        if what is Size.LINK and size > _MAX_SYMLINK_TARGET:
            raise errors.UnsafePathError(
                f"is a symlink whose target is over {_MAX_SYMLINK_TARGET} bytes", where=path
            )
        if what is Size.FILE and size > self._settings.max_file_bytes:
            raise errors.SourceLimitError(
                f"is {size} bytes",
                where=path,
                limit="max_file_bytes",
                value=self._settings.max_file_bytes,
            )
        if self._bytes + size > self._settings.max_read_bytes:
            raise errors.SourceLimitError(
                "reading it would pass the bytes allowed for one read",
                where=self._root or "/",
                limit="max_read_bytes",
                value=self._settings.max_read_bytes,
            )

    def take(self, size: int) -> None:
        self._bytes += size

    def count_file(self) -> None:
        """One more file in the read; refused past ``max_files_per_read``."""
        self._files += 1
        if self._files > self._settings.max_files_per_read:
            raise errors.SourceLimitError(
                "has too many files",
                where=self._root or "/",
                limit="max_files_per_read",
                value=self._settings.max_files_per_read,
            )


def follow_links(
    path: str,
    entry: _Entry,
    *,
    root: str,
    mode_of: Callable[[_Entry], int],
    link_of: Callable[[str, _Entry], bytes],
    find: Callable[[str], _Entry],
) -> tuple[str, _Entry]:
    """The file that the entry at ``path`` stands for: itself, or the file its symlinks
    lead to inside ``root`` (a path and its entry), up to a few hops.

    ``mode_of`` gives an entry's mode, ``link_of`` a symlink's target as stored, and
    ``find`` the entry at a path (`PathNotFoundError` if there is none); so a commit's
    trees and a directory on disk are followed by the same rules.
    """
    target = path
    for _ in range(_MAX_SYMLINK_HOPS):
        mode = mode_of(entry)
        refuse_link(mode, path, symlinks=False)
        if stat.S_ISDIR(mode):
            raise errors.UnsupportedEntryError(
                f"is a symlink to the directory {target or '/'}; fleet does not follow "
                "symlinks to directories",
                where=path,
            )
        if not stat.S_ISLNK(mode):
            return target, entry
        target = _symlink_target(path, target, link_of(target, entry), root=root)
        try:
            entry = find(target)
        except errors.PathNotFoundError:
            raise errors.PathNotFoundError(
                f"is a symlink to {target}, which does not exist", where=path
            ) from None
    raise errors.UnsupportedEntryError("too many levels of symlinks", where=path)


def _symlink_target(path: str, link_path: str, link: bytes, *, root: str) -> str:
    """Where the symlink at ``link_path`` (reached from ``path``) points, as a normalized
    path; refused unless it is relative and stays inside the directory ``root``."""
    try:
        text = link.decode()
    except UnicodeDecodeError:
        raise errors.UnsafePathError("symlink target is not UTF-8", where=path) from None
    if not text or "\x00" in text or "\\" in text or text.startswith("/"):
        raise errors.UnsafePathError(
            f"is a symlink to {text!r}: only relative targets inside the repository are followed",
            where=path,
        )
    target = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), text))
    target = "" if target == "." else target
    if target == ".." or target.startswith("../"):
        raise errors.UnsafePathError(
            f"is a symlink to {text!r}, which points outside the repository", where=path
        )
    if root and target != root and not target.startswith(root + "/"):
        raise errors.UnsafePathError(
            f"is a symlink to {text!r}, which points outside the directory {root}",
            where=path,
        )
    return target


def refuse_link(mode: int, path: str, *, symlinks: bool = True) -> None:
    """Submodules are never read; symlinks are not followed where a directory is needed."""
    if S_ISGITLINK(mode):
        raise errors.UnsupportedEntryError(
            "is a submodule; fleet reads only the repository it fetched", where=path
        )
    if symlinks and stat.S_ISLNK(mode):
        raise errors.UnsupportedEntryError(
            "is a symlink; fleet does not follow symlinks to directories", where=path
        )


def entry_path(base: str, name: bytes) -> str:
    """``base/name`` for a directory entry; refused unless ``name`` is a plain UTF-8 name."""
    where = f"{base}/{name!r}" if base else repr(name)
    try:
        text = name.decode()
    except UnicodeDecodeError:
        raise errors.UnsafePathError("entry name is not UTF-8", where=where) from None
    if text in ("", ".", "..") or any(c in text for c in "/\\\x00"):
        raise errors.UnsafePathError(
            f"tree entry {text!r} is not a plain file name", where=base or "/"
        )
    return f"{base}/{text}" if base else text


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _show(path: str) -> str:
    return path if path.isprintable() else repr(path)
