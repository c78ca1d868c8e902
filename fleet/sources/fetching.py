"""One fetch as blocking steps for a worker thread: transfer and verify, then move refs.

A fetch must never leave the mirror worse than it found it. Objects are immutable and
content-addressed, so adding them is always safe; what changes what fleet serves is a
ref. So the steps are split: `transfer` brings the pack into the object store (the
pack is indexed and moved into place only once it is complete and its checksum holds)
and then checks that every new ref target is there and that each followed branch's
commit and its whole tree are readable -- without moving anything. Only if all of that
holds does the caller run `update_refs`. A truncated pack, a corrupt one, or one that
lacks an object therefore leaves every ref where it was.

`transfer` runs in a thread that asyncio cannot stop. It checks a `threading.Event`
between chunks of the pack, so that a fetch the caller gave up on stops soon after,
and the caller keeps the thread's future so that no second fetch overlaps it.
"""

from __future__ import annotations

import re
import stat
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import SpooledTemporaryFile

from dulwich import client
from dulwich.errors import HangupException, NotGitRepository
from dulwich.objects import S_ISGITLINK, Commit, ObjectID, Tree
from dulwich.refs import LOCAL_BRANCH_PREFIX, LOCAL_TAG_PREFIX, Ref, check_ref_format
from dulwich.repo import Repo

FETCHED_PREFIXES = (LOCAL_BRANCH_PREFIX, LOCAL_TAG_PREFIX)
"""A mirror holds the remote's branches and tags -- enough to resolve any branch, tag or
commit a target pins -- and nothing else (not GitHub's refs/pull/*)."""

_SPOOL_BYTES = 16 << 20
_MAX_MESSAGE = 500
_MAX_VERIFIED_TREES = 100_000
"""About 10 MiB of tree ids; past it the set starts again (one full check)."""
_SHA = re.compile(rb"^[0-9a-f]{40}$")


class FetchError(Exception):
    """A fetch fleet stopped on purpose, or whose result failed verification.

    The message names refs and object ids only, never a URL or a credential.
    """


@dataclass(frozen=True, slots=True)
class Transfer:
    """What one transfer brought: the remote's branches and tags, verified present."""

    refs: Mapping[bytes, bytes]
    pack_bytes: int


def describe(error: BaseException) -> str:
    """A one-line account of why a fetch failed, for people; the caller redacts it."""
    if isinstance(error, client.HTTPUnauthorized):
        return "the remote refused the credentials (HTTP 401)"
    if isinstance(error, NotGitRepository):
        return "the remote has no repository at this URL"
    if isinstance(error, HangupException):
        return "the remote hung up during the transfer"
    if isinstance(error, FetchError):
        return str(error)
    text = " ".join(str(error).split())[:_MAX_MESSAGE]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def branch_ref(branch: str) -> bytes:
    """``refs/heads/<branch>``; raises ValueError for a name Git would refuse."""
    ref = LOCAL_BRANCH_PREFIX + branch.encode()
    if not check_ref_format(Ref(ref)):
        raise ValueError(f"{branch!r} is not a valid branch name")
    return ref


def init(path: Path) -> dict[bytes, bytes]:
    """Create the bare mirror if it is not there yet; returns its branches and tags."""
    if not (path / "objects").is_dir():
        path.mkdir(parents=True, exist_ok=True)
        Repo.init_bare(str(path)).close()
    with Repo(str(path)) as repo:
        return _local_refs(repo)


def transfer(
    *,
    path: Path,
    connect: Callable[[], tuple[client.GitClient, str]],
    tracked: Collection[bytes],
    max_bytes: int,
    cancelled: threading.Event,
    verified: set[bytes],
) -> Transfer:
    """Fetch every branch and tag into the object store and verify the result.

    ``tracked`` are the refs whose commit and tree must be complete; a tracked ref the
    remote lacks is not an error here (the caller decides what a missing branch means).
    ``verified`` holds trees already known complete (objects are never removed from a
    mirror, so they stay complete); it is skipped, and grows by what this fetch checks.
    """
    written = 0

    def determine_wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
        if cancelled.is_set():
            raise FetchError("abandoned before the transfer started")
        wanted = _valid_refs(refs)
        return sorted(
            {ObjectID(sha) for sha in wanted.values() if ObjectID(sha) not in repo.object_store}
        )

    def write(data: bytes) -> int:
        nonlocal written
        if cancelled.is_set():
            raise FetchError("abandoned during the transfer")
        written += len(data)
        if written > max_bytes:
            raise FetchError(f"the pack passed max_fetch_bytes={max_bytes}")
        spool.write(data)
        return len(data)

    with (
        Repo(str(path)) as repo,
        SpooledTemporaryFile(max_size=_SPOOL_BYTES, dir=str(path)) as spool,
    ):
        git_client, remote_path = connect()
        try:
            result = git_client.fetch_pack(
                remote_path,
                determine_wants,
                repo.get_graph_walker(),
                write,
                ref_prefix=list(FETCHED_PREFIXES),
            )
            if written:
                spool.seek(0)
                repo.object_store.add_thin_pack(spool.read, None)
        except BaseException:
            _remove_partial_packs(path)
            raise
        finally:
            git_client.close()
        refs = _valid_refs(result.refs)
        _verify(repo, refs, tracked, verified)
        return Transfer(refs=refs, pack_bytes=written)


def update_refs(
    *, path: Path, refs: Mapping[bytes, bytes], keep: Collection[bytes]
) -> dict[bytes, bytes]:
    """Make the mirror's branches and tags those of ``refs``, except that a ref in
    ``keep`` the remote no longer has stays at its last good commit; returns the refs."""
    with Repo(str(path)) as repo:
        current = _local_refs(repo)
        for name, sha in refs.items():
            if current.get(name) != sha:
                repo.refs[Ref(name)] = ObjectID(sha)
        for name in current.keys() - refs.keys() - set(keep):
            repo.refs.remove_if_equals(Ref(name), ObjectID(current[name]))
        return _local_refs(repo)


def _valid_refs(refs: Mapping[Ref, ObjectID | None]) -> dict[bytes, bytes]:
    # Ref names come from the remote and become file names in the mirror: anything Git
    # itself would refuse is dropped, as are peeled-tag entries and symbolic refs.
    return {
        bytes(name): bytes(sha)
        for name, sha in refs.items()
        if sha is not None
        and name.startswith(FETCHED_PREFIXES)
        and check_ref_format(name)
        and _SHA.match(sha)
    }


def _local_refs(repo: Repo) -> dict[bytes, bytes]:
    refs = {
        Ref(prefix + name): sha
        for prefix in FETCHED_PREFIXES
        for name, sha in repo.refs.as_dict(Ref(prefix.rstrip(b"/"))).items()
    }
    return _valid_refs(refs)


def _verify(
    repo: Repo, refs: Mapping[bytes, bytes], tracked: Collection[bytes], verified: set[bytes]
) -> None:
    store = repo.object_store
    for name, sha in refs.items():
        if ObjectID(sha) not in store:
            raise FetchError(f"{name.decode()} points at {sha.decode()}, which did not arrive")
    for name in tracked:
        head = refs.get(name)
        if head is None:
            continue
        commit = store[ObjectID(head)]
        if not isinstance(commit, Commit):
            raise FetchError(f"{name.decode()} points at {head.decode()}, which is not a commit")
        if len(verified) > _MAX_VERIFIED_TREES:
            verified.clear()
        verified.update(_check_tree(repo, commit.tree, name, verified))


def _check_tree(repo: Repo, root: bytes, ref: bytes, verified: set[bytes]) -> set[bytes]:
    """Every tree under ``root`` readable and every blob present (gitlinks aside: they
    name commits of other repositories); returns the trees it checked."""
    store = repo.object_store
    pending, seen = [root], set()
    while pending:
        sha = pending.pop()
        if sha in seen or sha in verified:
            continue
        seen.add(sha)
        try:
            tree = store[ObjectID(sha)]
        except KeyError:
            raise FetchError(f"{ref.decode()}: tree {sha.decode()} did not arrive") from None
        if not isinstance(tree, Tree):
            raise FetchError(f"{ref.decode()}: {sha.decode()} is not a tree")
        for entry in tree.iteritems():
            if stat.S_ISDIR(entry.mode):
                pending.append(entry.sha)
            elif not S_ISGITLINK(entry.mode) and entry.sha not in store:
                raise FetchError(f"{ref.decode()}: blob {entry.sha.decode()} did not arrive")
    return seen


def _remove_partial_packs(path: Path) -> None:
    # dulwich leaves the temporary file of a pack it could not complete; this mirror is
    # the only writer of its directory, so any such file is ours and dead.
    for partial in (path / "objects").glob("tmp_pack_*"):
        partial.unlink(missing_ok=True)
