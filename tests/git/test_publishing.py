"""Publishing commits: snapshots on a branch, history rewrites, directories with symlinks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dulwich.objects import Commit, Tree
from dulwich.repo import Repo

from fleet.sources import publishing
from fleet.structs import errors
from tests.git.doubles import read_ref


def _commit(path: Path, revision: str) -> Commit:
    with Repo(str(path)) as repo:
        commit = repo[revision.encode()]
        assert isinstance(commit, Commit)
        return commit


def test_each_publish_is_a_commit_on_top_of_the_last(tmp_path: Path) -> None:
    repository = tmp_path / "fleet.git"
    first = publishing.publish_files(repository, files={"a.yaml": b"1"}, message="one")
    second = publishing.publish_files(
        repository,
        files={"b/c.yaml": b"2"},
        message="two",
        author="Ada <ada@example.com>",
        when=datetime(2030, 5, 1, tzinfo=UTC),
    )
    commit = _commit(repository, second)
    assert commit.parents == [first.encode()]
    assert commit.author == b"Ada <ada@example.com>"
    assert commit.commit_time == int(datetime(2030, 5, 1, tzinfo=UTC).timestamp())
    assert commit.message == b"two\n"
    assert read_ref(repository, "refs/heads/main") == second
    with Repo(str(repository)) as repo:
        tree = repo[commit.tree]
        assert isinstance(tree, Tree)
        assert [entry.path for entry in tree.iteritems()] == [b"b"]


def test_replace_history_makes_a_root_commit(tmp_path: Path) -> None:
    repository = tmp_path / "fleet.git"
    publishing.publish_files(repository, files={"a": b"1"}, message="one")
    rewritten = publishing.publish_files(
        repository, files={"a": b"2"}, message="rewritten", replace_history=True
    )
    assert _commit(repository, rewritten).parents == []


def test_branches_are_independent(tmp_path: Path) -> None:
    repository = tmp_path / "fleet.git"
    main = publishing.publish_files(repository, files={"a": b"1"}, message="one")
    feature = publishing.publish_files(repository, files={"a": b"2"}, message="f", branch="feature")
    assert _commit(repository, feature).parents == []
    assert read_ref(repository, "refs/heads/main") == main


def test_publish_directory_keeps_symlinks(tmp_path: Path) -> None:
    source = tmp_path / "clusters"
    (source / "apps" / "web").mkdir(parents=True)
    (source / "apps" / "web" / "deploy.yaml").write_bytes(b"kind: Deployment\n")
    (source / "apps" / "web" / "alias.yaml").symlink_to("deploy.yaml")
    (source / "apps" / "shared").symlink_to("web")
    repository = tmp_path / "fleet.git"
    revision = publishing.publish_directory(repository, directory=source, message="demo")
    with Repo(str(repository)) as repo:
        tree = repo[_commit(repository, revision).tree]
        assert isinstance(tree, Tree)
        entries = {
            entry.path.decode(): (entry.mode, repo[entry.sha].as_raw_string())
            for entry in repo.object_store.iter_tree_contents(tree.id)
        }
    assert entries == {
        "apps/shared": (0o120000, b"web"),
        "apps/web/alias.yaml": (0o120000, b"deploy.yaml"),
        "apps/web/deploy.yaml": (0o100644, b"kind: Deployment\n"),
    }


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"../escape.yaml": b""}, errors.UnsafePathError),
        ({"/etc/passwd": b""}, errors.UnsafePathError),
        ({"a": b"file", "a/b": b"and directory"}, ValueError),
        ({"a/b": b"directory", "a": b"and file"}, ValueError),
        ({"": b"nameless"}, ValueError),
    ],
)
def test_invalid_trees_are_refused(
    tmp_path: Path, files: dict[str, bytes], error: type[Exception]
) -> None:
    with pytest.raises(error):
        publishing.publish_files(tmp_path / "fleet.git", files=files, message="bad")
