"""Settings, in small groups with documented defaults.

Each concern has its own frozen group (`settings.git.poll_interval`,
`settings.watching.reconnect_backoff`, ...), so a component receives only the group it
needs and a test builds that group alone. `Settings` collects the groups; the command
line and `FLEET_*` environment variables fill it in `fleet.runtime`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path


class Secret:
    """A password, token or signing key that no repr, str or log line can show.

    Settings print themselves in logs and in the status API; holding a credential in a
    plain ``str`` field would leak it the first time someone logs a settings group.
    Only `reveal()` gives the value, so every place that uses it is easy to find.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class GitSettings:
    """How fleet follows Git: where mirrors live, how often they fetch, what a read may cost.

    Credentials here are sent to every HTTP(S) remote fleet mirrors; remote URLs come
    only from settings, never from the fleet repository, so they cannot be pointed at
    another host by a commit.
    """

    url: str = ""
    """The fleet repository (https://, ssh://, scp-like ``git@host:path``, file:// or a path)."""
    branch: str = "main"
    """The branch whose head the controller deploys."""
    state_dir: Path = Path("state/git")
    """Where the bare mirror repositories live, one directory per remote URL."""
    poll_interval: float = 60.0
    """Seconds between fetches of a healthy remote (a push webhook fetches at once)."""
    poll_jitter: float = 0.1
    """Each poll interval is stretched or shrunk by up to this fraction, so that mirrors
    started together do not fetch together forever."""
    fetch_timeout: float = 60.0
    """Seconds one fetch may take, from connecting to the verified new head."""
    backoff_base: float = 1.0
    """Seconds before the first retry of a failing remote; doubles with each failure."""
    backoff_cap: float = 300.0
    """The longest wait between two attempts on a failing remote."""
    backoff_jitter: float = 0.2
    """Each backoff delay is shortened by up to this fraction (never lengthened past the cap)."""
    max_fetch_bytes: int = 1 << 30
    """A fetch whose pack grows past this many bytes is abandoned (1 GiB)."""
    max_file_bytes: int = 4 << 20
    """The largest file (or tree object) fleet reads from a repository (4 MiB)."""
    max_files_per_read: int = 5_000
    """The most files one directory read (one bundle) may return."""
    max_read_bytes: int = 64 << 20
    """The most bytes one read (one bundle, or one file) may inflate (64 MiB)."""
    read_cache_bytes: int = 64 << 20
    """Bytes of file content kept by the per-mirror cache of directory reads (64 MiB)."""
    http_username: str = ""
    """User name for HTTP(S) basic authentication; with a token and no name,
    ``x-access-token`` is sent (GitHub's convention; GitLab and Gitea accept any name)."""
    http_password: Secret | None = None
    """Password or access token for HTTP(S) basic authentication. When unset, the
    environment variables ``FLEET_GIT_USERNAME`` and ``FLEET_GIT_PASSWORD`` (or
    ``FLEET_GIT_TOKEN``) are used, if set."""
    ssh_key_file: Path | None = None
    """Private key for SSH remotes; when unset, ``ssh`` uses its agent and ~/.ssh."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """The push webhook at ``POST /hooks/git``.

    Without a secret the endpoint answers 404: an unauthenticated trigger would let
    anyone on the network make fleet fetch as often as they like.
    """

    secret: Secret | None = None
    """Shared secret: the HMAC key for GitHub and Gitea, the token for GitLab."""
    max_body_bytes: int = 1 << 20
    """Larger bodies are refused with 413 before they are read (1 MiB; GitHub caps
    push payloads at 25 MiB but sends far less for ordinary pushes)."""
    read_timeout: float = 10.0
    """Seconds the sender has to deliver the whole body."""
