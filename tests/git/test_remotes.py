"""Remote URLs: identity (one mirror each), match keys (webhooks), refusals, redaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dulwich import client

from fleet.sources import remotes
from fleet.sources.remotes import Transport
from fleet.structs import errors
from fleet.structs.settings import GitSettings, Secret


@pytest.mark.parametrize(
    ("url", "transport", "identity", "match_key"),
    [
        (
            "https://github.com/Org/Repo.git",
            Transport.HTTP,
            "https://github.com/Org/Repo",
            "github.com/org/repo",
        ),
        (
            "https://GitHub.com:443/Org/Repo/",
            Transport.HTTP,
            "https://github.com/Org/Repo",
            "github.com/org/repo",
        ),
        (
            "http://127.0.0.1:8080/fleet.git",
            Transport.HTTP,
            "http://127.0.0.1:8080/fleet",
            "127.0.0.1/fleet",
        ),
        (
            "git@github.com:Org/Repo.git",
            Transport.SSH,
            "ssh://git@github.com/Org/Repo",
            "github.com/org/repo",
        ),
        (
            "ssh://git@gitlab.example.com:2222/group/sub/repo.git",
            Transport.SSH,
            "ssh://git@gitlab.example.com:2222/group/sub/repo",
            "gitlab.example.com/group/sub/repo",
        ),
        (
            "/srv/git/fleet.git",
            Transport.LOCAL,
            "file:///srv/git/fleet.git",
            "file:/srv/git/fleet.git",
        ),
        (
            "file:///srv/git/fleet.git/",
            Transport.LOCAL,
            "file:///srv/git/fleet.git",
            "file:/srv/git/fleet.git",
        ),
    ],
)
def test_parse(url: str, transport: Transport, identity: str, match_key: str) -> None:
    remote = remotes.parse(url)
    assert (remote.transport, remote.identity, remote.match_key) == (transport, identity, match_key)


def test_every_url_github_sends_for_a_repository_has_the_same_match_key() -> None:
    sent = [
        "https://github.com/octo-org/Fleet-Config.git",  # clone_url
        "git@github.com:octo-org/Fleet-Config.git",  # ssh_url
        "https://github.com/octo-org/Fleet-Config",  # html_url
        "git://github.com/octo-org/Fleet-Config.git",  # git_url
    ]
    configured = remotes.parse("https://github.com/octo-org/fleet-config")
    assert {remotes.match_key(url) for url in sent} == {configured.match_key}


@pytest.mark.parametrize("url", ["not a url at all", "https:///no-host"])
def test_match_key_of_something_that_is_no_url_is_none(url: str) -> None:
    assert remotes.match_key(url) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://bot:s3cret-pass@github.com/org/repo.git", "contains a password"),
        ("https://bot@github.com/org/repo.git", "http_username"),
        ("git://github.com/org/repo.git", "unsupported scheme 'git'"),
        ("ftp://example.com/repo", "unsupported scheme 'ftp'"),
        ("https:///repo", "names no host"),
        ("", "is not a repository URL"),
        (" /srv/git/fleet", "is not a repository URL"),
    ],
)
def test_refused_urls(url: str, message: str) -> None:
    with pytest.raises(errors.UserError, match=re.escape(message)) as raised:
        remotes.parse(url)
    assert "s3cret-pass" not in str(raised.value)
    assert str(raised.value).startswith("git url: ")


def test_directory_names_are_readable_distinct_and_safe() -> None:
    names = {
        remotes.parse(url).directory_name
        for url in (
            "https://github.com/org/repo.git",
            "http://github.com/org/repo.git",
            "git@github.com:org/repo.git",
            "https://github.com/org/Repo.git",
        )
    }
    assert len(names) == 4
    for name in names:
        assert re.fullmatch(r"[a-z0-9._-]+-[0-9a-f]{16}", name), name
        assert name.startswith("github.com_org_repo-")


def test_same_repository_spelt_twice_gets_one_directory() -> None:
    one = remotes.parse("https://GitHub.com/org/repo.git")
    other = remotes.parse("https://github.com:443/org/repo/")
    assert one.directory_name == other.directory_name


def test_redact_removes_secrets_and_url_passwords() -> None:
    text = "failed for https://bot:p%40ss@host/x (token p@ss, quoted p%40ss) and ssh://git@host/x"
    assert remotes.redact(text, ["p@ss", ""]) == (
        "failed for https://***@host/x (token ***, quoted ***) and ssh://git@host/x"
    )


@pytest.mark.parametrize(
    ("settings", "environ", "expected"),
    [
        (GitSettings(), {}, None),
        (
            GitSettings(http_username="ci", http_password=Secret("pw")),
            {"FLEET_GIT_PASSWORD": "other"},
            ("ci", "pw"),
        ),
        (GitSettings(http_password=Secret("token")), {}, ("x-access-token", "token")),
        (GitSettings(), {"FLEET_GIT_TOKEN": "ghp_1"}, ("x-access-token", "ghp_1")),
        (
            GitSettings(),
            {"FLEET_GIT_USERNAME": "oauth2", "FLEET_GIT_PASSWORD": "glpat"},
            ("oauth2", "glpat"),
        ),
        (GitSettings(), {"FLEET_GIT_USERNAME": "alone"}, None),
    ],
)
def test_credentials_come_from_settings_then_environment(
    settings: GitSettings, environ: dict[str, str], expected: tuple[str, str] | None
) -> None:
    found = remotes.credentials(settings, environ)
    assert (None if found is None else (found.username, found.password.reveal())) == expected


def test_credentials_never_show_their_password() -> None:
    found = remotes.credentials(GitSettings(http_password=Secret("pw-visible?")), {})
    assert found is not None
    assert "pw-visible?" not in repr(found)
    assert "pw-visible?" not in repr(GitSettings(http_password=Secret("pw-visible?")))
    assert str(Secret("pw-visible?")) == "Secret('***')"


def test_ssh_remotes_use_the_system_ssh_without_prompts(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    git, path = remotes.connect(
        remotes.parse("git@github.com:org/repo.git"),
        credentials=None,
        timeout=30,
        ssh_key_file=key,
    )
    assert isinstance(git, client.SSHGitClient)
    assert (git.host, git.username, path) == ("github.com", "git", "org/repo.git")
    assert git.ssh_command.startswith("ssh -o BatchMode=yes -o ConnectTimeout=30")
    assert git.key_filename == str(key)
