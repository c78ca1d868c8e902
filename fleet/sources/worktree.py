"""A fleet repository as a directory on disk, read as the controller reads a commit.

`fleet validate` and `fleet render` check what a person is editing, before it is
committed, so they read a working tree instead of a mirror. What they find must be what
the controller will find in the commit, so a read here follows the rules of
`fleet.sources.reading`, through the same helpers and with the same errors:

- a caller's path is normalized and refused if it could leave the root
  (`reading.normalize`); every directory on the way is opened relative to its parent
  without following a symlink (``O_NOFOLLOW``), so a symlink swapped in meanwhile is not
  followed either;
- a symlink is followed only to a file inside the directory being read (the bundle; the
  whole root for a single file), never to a directory, up to a few hops
  (`reading.follow_links`); nothing outside the root is ever opened through one;
- ``.git`` is Git's own data, not a file of the repository: a walk skips it and a path
  through it is refused; a directory below the root that holds one is another
  repository, refused as a submodule is;
- only regular files are read (a FIFO would stall the read, a device is not a file);
  each is opened without following a link and without blocking, sized by ``fstat``
  before anything is read, and never read past the limit; files and bytes count against
  `GitSettings` through `reading.ReadBudget`, so the limits are the controller's;
- reads run in worker threads, off the event loop.

Two differences remain. The files are those on disk, whether Git tracks them or not,
because what is being checked is the change about to be committed. And a commit's read
counts the tree objects it inflates toward ``max_read_bytes`` as well as the files,
while a directory on disk has no such bytes, so a bundle within that limit by less than
the size of its trees passes here and not in the controller.

The working tree is the revision `WORKING_TREE`. A target pinned to a commit needs Git:
when the directory is inside a Git repository, pinned revisions are resolved and read
from that repository's object store by `reading.RepositoryReader`, below the directory's
place in it; otherwise reading a pinned bundle fails, and that is a problem of that
bundle only.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

from fleet.sources import reading
from fleet.structs import errors
from fleet.structs.objects import Revision
from fleet.structs.settings import GitSettings
from fleet.structs.sources import SourceFile

WORKING_TREE = Revision("working-tree")
"""The revision that stands for the files on disk."""

_P = ParamSpec("_P")
_T = TypeVar("_T")
_GIT = ".git"
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class WorkingTree:
    """Reads a directory on disk, and pinned revisions from the Git repository around it.

    Create with `await WorkingTree.open(...)`; close with `close` (or ``async with``).
    """

    def __init__(
        self,
        root: Path,
        *,
        settings: GitSettings,
        git: reading.RepositoryReader | None,
        prefix: str,
    ) -> None:
        self.root = root
        self._settings = settings
        self._git = git
        self._prefix = prefix
        self._git_lock = asyncio.Lock()

    @classmethod
    async def open(cls, root: Path, *, settings: GitSettings) -> WorkingTree:
        """The directory ``root``; `errors.UserError` if it is not one."""
        return await asyncio.to_thread(cls._open, root, settings)

    @classmethod
    def _open(cls, root: Path, settings: GitSettings) -> WorkingTree:
        if not root.is_dir():
            raise errors.UserError("is not a directory", where=str(root))
        real = root.resolve()
        try:
            with Repo.discover(str(real)) as repo:
                top = Path(repo.path).resolve()
            git = reading.RepositoryReader(top, settings=settings, count_bytes=_uncounted)
        except (NotGitRepository, OSError):
            return cls(real, settings=settings, git=None, prefix="")
        prefix = real.relative_to(top).as_posix()
        return cls(real, settings=settings, git=git, prefix="" if prefix == "." else prefix)

    async def __aenter__(self) -> WorkingTree:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._git is not None:
            self._git.close()

    @property
    def in_git(self) -> bool:
        """Whether pinned revisions can be read (the directory is inside a Git repository)."""
        return self._git is not None

    def __repr__(self) -> str:
        git = f"in Git at {self._prefix or '/'}" if self._git is not None else "not in Git"
        return f"WorkingTree({str(self.root)!r}, {git})"

    async def resolve(self, name: str) -> Revision:
        """A pinned revision as a full commit SHA, from the repository around the tree.

        Outside Git there is nothing to resolve against; the name comes back as it is, so
        that reading the bundle at it fails with the reason, as a problem of that bundle.
        """
        if self._git is None:
            return Revision(name)
        git = self._git
        async with self._git_lock:
            return await asyncio.to_thread(git.resolve, name)

    async def read_file(self, revision: Revision, path: str) -> SourceFile:
        """One file; a symlink is followed if it stays inside the root."""
        if revision == WORKING_TREE:
            return await asyncio.to_thread(self._read_file, path)
        found = await self._committed(revision, path, directory=False)
        return found[0]

    async def read_directory(self, revision: Revision, path: str) -> tuple[SourceFile, ...]:
        """Every file under ``path``, recursively, sorted by path; ``""`` is the root."""
        if revision == WORKING_TREE:
            return await asyncio.to_thread(self._read_directory, path)
        return await self._committed(revision, path, directory=True)

    def _read_file(self, path: str) -> SourceFile:
        wanted = reading.normalize(path)
        if not wanted:
            raise errors.UnsupportedEntryError("is a directory, not a file", where="/")
        read = _Read(self.root, self._settings, root="")
        status = read.entry(wanted)
        if stat.S_ISDIR(status.st_mode):
            with read.directory(wanted):  # a directory holding .git is refused as a submodule
                raise errors.UnsupportedEntryError("is a directory, not a file", where=wanted)
        return SourceFile(wanted, read.file_data(wanted, status))

    def _read_directory(self, path: str) -> tuple[SourceFile, ...]:
        wanted = reading.normalize(path)
        read = _Read(self.root, self._settings, root=wanted)
        if wanted:
            mode = read.entry(wanted).st_mode
            reading.refuse_link(mode, wanted)
            if not stat.S_ISDIR(mode):
                raise errors.UnsupportedEntryError("is not a directory", where=wanted)
        files = [
            SourceFile(file_path, read.file_data(file_path, status))
            for file_path, status in read.files(wanted)
        ]
        return tuple(sorted(files, key=lambda file: file.path))

    async def _committed(
        self, revision: Revision, path: str, *, directory: bool
    ) -> tuple[SourceFile, ...]:
        """A pinned read, from the object store, below the tree's place in the repository."""
        wanted = reading.normalize(path)  # before the prefix: `..` must not climb out of it
        if self._git is None:
            raise errors.UnknownRevisionError(
                f"the pinned revision {revision} needs a Git repository, and {self.root} is "
                "not inside one"
            )
        git = self._git
        inside = "/".join(part for part in (self._prefix, wanted) if part)
        async with self._git_lock:
            if directory:
                found = await asyncio.to_thread(git.read_directory, revision, inside)
            else:
                found = (await asyncio.to_thread(git.read_file, revision, inside),)
        if not self._prefix:
            return found
        return tuple(
            SourceFile(file.path.removeprefix(self._prefix + "/"), file.data) for file in found
        )


def _uncounted(size: int) -> None:
    """The controller counts the bytes its reads inflate, as a metric; a command does not."""


class _Read:
    """One read of the tree: the budget it has used so far.

    Every directory is opened from the root, one step at a time, without following
    symlinks, and each step is closed as soon as the next one is open.
    """

    def __init__(self, tree: Path, settings: GitSettings, *, root: str) -> None:
        self._tree = tree
        self._settings = settings
        self._root = root
        self._budget = reading.ReadBudget(settings, root=root)

    @contextlib.contextmanager
    def directory(self, path: str, *, reading_path: str | None = None) -> Iterator[int]:
        """A descriptor of the directory at ``path`` (normalized; ``""`` is the root)."""
        fd = _os("/", os.open, self._tree, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            walked = ""
            for name in path.split("/") if path else ():
                walked = f"{walked}/{name}" if walked else name
                mode = self._lstat(fd, name, walked).st_mode
                reading.refuse_link(mode, walked)
                if not stat.S_ISDIR(mode):
                    raise errors.PathNotFoundError(
                        f"is not a directory (reading {reading_path or path})", where=walked
                    )
                parent, fd = fd, -1
                try:
                    fd = _os(walked, os.open, name, _DIRECTORY, dir_fd=parent)
                finally:
                    os.close(parent)
                if _holds_git(fd, walked):
                    raise errors.UnsupportedEntryError(
                        "is a Git repository of its own (a submodule); fleet reads only the "
                        "repository it fetched",
                        where=walked,
                    )
            yield fd
        finally:
            if fd >= 0:
                os.close(fd)

    def entry(self, path: str) -> os.stat_result:
        """The status of the entry at ``path`` (a last symlink is not followed)."""
        parent, _, name = path.rpartition("/")
        with self.directory(parent, reading_path=path) as fd:
            return self._lstat(fd, name, path)

    def files(self, directory: str) -> Iterator[tuple[str, os.stat_result]]:
        """Path and status of every entry below ``directory`` that is not a directory."""
        pending = [directory]
        while pending:
            base = pending.pop()
            with self.directory(base) as fd:
                # In name order, as a tree's entries are: the first error is always the same.
                entries = [
                    (item.name, _os(base or "/", item.stat, follow_symlinks=False))
                    for item in sorted(_os(base or "/", os.scandir, fd), key=_name)
                    if item.name.casefold() != _GIT  # only the root may hold one
                ]
            for name, status in entries:
                path = reading.entry_path(base, os.fsencode(name))
                if stat.S_ISDIR(status.st_mode):
                    pending.append(path)
                    continue
                self._budget.count_file()
                yield path, status

    def file_data(self, path: str, status: os.stat_result) -> bytes:
        """The content of the file at ``path``, following symlinks that stay inside the
        read's root directory; sized before it is read, and never read past the limit."""
        target, status = reading.follow_links(
            path,
            status,
            root=self._root,
            mode_of=lambda found: found.st_mode,
            link_of=self._link,
            find=self.entry,
        )
        if not stat.S_ISREG(status.st_mode):
            raise _not_a_file(path)
        limit = self._settings.max_file_bytes
        self._budget.check(status.st_size, path, reading.Size.FILE)
        parent, _, name = target.rpartition("/")
        with self.directory(parent) as directory:
            fd = _os(path, os.open, name, _FILE, dir_fd=directory)
            with open(fd, "rb") as file:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise _not_a_file(path)  # replaced since it was looked at
                data = _os(path, file.read, limit + 1)
        if len(data) != status.st_size:
            self._budget.check(len(data), path, reading.Size.FILE)  # it changed meanwhile
        self._budget.take(len(data))
        return data

    def _link(self, path: str, status: os.stat_result) -> bytes:
        parent, _, name = path.rpartition("/")
        with self.directory(parent) as fd:
            return os.fsencode(_os(path, os.readlink, name, dir_fd=fd))

    def _lstat(self, fd: int, name: str, path: str) -> os.stat_result:
        if name.casefold() == _GIT:
            raise errors.UnsafePathError(
                "is Git's own data, not a file of the repository; fleet never reads it",
                where=path,
            )
        return _os(path, os.stat, name, dir_fd=fd, follow_symlinks=False)


def _os(where: str, call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``call(...)``, with an OS error turned into the error a read of a commit raises (or,
    for what only a disk can do, such as a permission refused, a `UserError`)."""
    try:
        return call(*args, **kwargs)
    except FileNotFoundError:
        raise errors.PathNotFoundError("does not exist", where=where) from None
    except NotADirectoryError:
        raise errors.PathNotFoundError("is not a directory", where=where) from None
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symlink appeared where a file was
            raise errors.UnsupportedEntryError(
                "is a symlink; fleet does not follow it here", where=where
            ) from None
        reason = error.strerror or type(error).__name__
        raise errors.UserError(f"cannot be read: {reason}", where=where) from None


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _holds_git(fd: int, path: str) -> bool:
    try:
        _os(path, os.stat, _GIT, dir_fd=fd, follow_symlinks=False)
    except errors.PathNotFoundError:
        return False
    return True


def _not_a_file(path: str) -> errors.UnsupportedEntryError:
    return errors.UnsupportedEntryError(
        "is not a regular file (a FIFO, socket or device); fleet reads only files", where=path
    )
