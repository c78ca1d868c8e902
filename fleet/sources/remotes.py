"""Remote URLs: what a mirror is called, how a webhook finds it, and how it is reached.

A remote URL is spelt many ways: GitHub sends `clone_url`, `ssh_url` and `html_url` for
one repository, and an operator may write any of them with or without `.git`. Two keys
come out of a URL. The *identity* decides which URLs share one mirror, so it keeps what
could name a different repository (scheme, port, path case). The *match key* decides
which mirrors a push webhook fetches, so it is deliberately lenient (host and path,
lower case, no scheme, port or `.git`): a false match costs one fetch, a missed match
costs a whole poll interval.

Credentials never live in a URL. A URL with a password in it is refused rather than
cleaned, because other parts of fleet (logs, the status API, the state directory name)
show URLs; credentials come from `GitSettings` or the environment and are handed to
dulwich separately, and `redact` scrubs them from any error text dulwich produces.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3
from dulwich import client

from fleet.structs import errors
from fleet.structs.settings import GitSettings, Secret

TOKEN_USERNAME = "x-access-token"  # noqa: S105 -- a user name, not a secret
"""The user name sent with a token and no configured name: GitHub requires a non-empty
name and documents this one; GitLab and Gitea accept any."""

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:]+):(?P<path>(?!//).+)$")
_USERINFO_WITH_PASSWORD = re.compile(r"(?<=://)[^/@\s:]*:[^/@\s]*@")


class Transport(enum.StrEnum):
    LOCAL = "local"
    HTTP = "http"
    SSH = "ssh"


@dataclass(frozen=True, slots=True)
class Remote:
    """A validated remote URL and the keys derived from it."""

    url: str
    """As configured; known to carry no credentials."""
    transport: Transport
    identity: str
    """Equal for URLs that name the same repository the same way: one mirror each."""
    match_key: str
    """Equal for every spelling of one repository's URL: what webhooks are matched on."""

    @property
    def directory_name(self) -> str:
        """The mirror's directory under the state dir: readable, unique, credential-free."""
        digest = hashlib.sha256(self.identity.encode()).hexdigest()[:16]
        slug = re.sub(r"[^a-z0-9._-]+", "_", self.match_key).strip("_.")[-48:]
        return f"{slug}-{digest}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """HTTP basic credentials; the password may be an access token."""

    username: str
    password: Secret


def parse(url: str) -> Remote:
    """Validate a configured remote URL; raises `UserError` naming what is wrong."""
    where = "git url"
    if not url or url != url.strip() or "\x00" in url:
        raise errors.UserError(f"{url!r} is not a repository URL", where=where)
    scp = None if "://" in url else _SCP_LIKE.match(url)
    if scp is not None and not url.startswith(("/", ".")):
        host, path = scp["host"].lower(), "/" + scp["path"].lstrip("/")
        user = f"{scp['user']}@" if scp["user"] else ""
        return Remote(url, Transport.SSH, f"ssh://{user}{host}{_trim(path)}", _key(host, path))
    if "://" not in url:
        return _local(url, os.path.abspath(url))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.password is not None:
        raise errors.UserError(
            "the URL contains a password; set it in FLEET_GIT_PASSWORD or the git settings "
            "instead, so that it never appears where URLs are shown",
            where=where,
        )
    if scheme == "file":
        return _local(url, os.path.abspath(parts.path))
    host = (parts.hostname or "").lower()
    if not host:
        raise errors.UserError(f"{url!r} names no host", where=where)
    if scheme in ("http", "https"):
        if parts.username is not None:
            raise errors.UserError(
                "put the HTTP user name in the git settings (http_username), not in the URL",
                where=where,
            )
        default_port = {"http": 80, "https": 443}[scheme]
        port = f":{parts.port}" if parts.port not in (None, default_port) else ""
        identity = f"{scheme}://{host}{port}{_trim(parts.path)}"
        return Remote(url, Transport.HTTP, identity, _key(host, parts.path))
    if scheme in ("ssh", "git+ssh"):
        user = f"{parts.username}@" if parts.username else ""
        port = f":{parts.port}" if parts.port not in (None, 22) else ""
        identity = f"ssh://{user}{host}{port}{_trim(parts.path)}"
        return Remote(url, Transport.SSH, identity, _key(host, parts.path))
    raise errors.UserError(
        f"unsupported scheme {parts.scheme!r}: use https://, ssh://, file:// or a path",
        where=where,
    )


def match_key(url: str) -> str | None:
    """The lenient key of any repository URL a webhook sends (git:// included);
    None when it is not a URL at all."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme.lower() == "file":
            return _local(url, os.path.abspath(parts.path)).match_key
        host = parts.hostname
        return _key(host.lower(), parts.path) if host else None
    scp = _SCP_LIKE.match(url)
    return _key(scp["host"].lower(), scp["path"]) if scp else None


def credentials(settings: GitSettings, environ: Mapping[str, str]) -> Credentials | None:
    """Credentials from the settings, else from FLEET_GIT_* variables, else none."""
    username, password = settings.http_username, settings.http_password
    if password is None:
        token = environ.get("FLEET_GIT_PASSWORD") or environ.get("FLEET_GIT_TOKEN")
        password = Secret(token) if token else None
        username = username or environ.get("FLEET_GIT_USERNAME", "")
    if password is None:
        return None
    return Credentials(username or TOKEN_USERNAME, password)


def connect(
    remote: Remote,
    *,
    credentials: Credentials | None,
    timeout: float,
    ssh_key_file: Path | None,
) -> tuple[client.GitClient, str]:
    """A dulwich client for the remote and the path to ask it for.

    No Git configuration is read (no ~/.gitconfig, no credential helper, nothing from
    any repository): what fleet sends is what its settings say.
    """
    if remote.transport is Transport.LOCAL:
        path = remote.identity.removeprefix("file://")
        return client.LocalGitClient(), path
    if remote.transport is Transport.HTTP:
        parts = urlsplit(remote.url)
        base_url = f"{parts.scheme}://{parts.netloc}/"
        pool = client.default_urllib3_manager(
            None,
            base_url=base_url,
            timeout=timeout,
            pool_manager_cls=_ClosingPoolManager,
            proxy_manager_cls=_ClosingProxyManager,
        )
        http = _HttpClient(
            base_url,
            config=None,
            pool_manager=pool,
            username=credentials.username if credentials else None,
            password=credentials.password.reveal() if credentials else None,
            timeout=timeout,
        )
        return http, parts.path
    # BatchMode: never prompt (there is no terminal); the alive probes end a connection
    # whose peer vanished, which a blocked read in the fetch thread would never notice.
    ssh_command = (
        f"ssh -o BatchMode=yes -o ConnectTimeout={max(1, int(timeout))} "
        "-o ServerAliveInterval=15 -o ServerAliveCountMax=3"
    )
    return client.get_transport_and_path(
        remote.url,
        config=None,
        ssh_command=ssh_command,
        key_filename=str(ssh_key_file) if ssh_key_file else None,
    )


class _ResponseTracking:
    """Remembers every response so that `clear` can close them all: dulwich drops the
    response of a refused request (401, 503, ...) without closing it, which would leave
    its socket to the garbage collector."""

    _responses: list[urllib3.BaseHTTPResponse]

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:
        response = super().urlopen(method, url, redirect=redirect, **kw)  # type: ignore[misc]
        self._responses = [*getattr(self, "_responses", []), response]
        return response

    def clear(self) -> None:
        for response in getattr(self, "_responses", []):
            response.close()
        self._responses = []
        super().clear()  # type: ignore[misc]


# urllib3 itself overrides urlopen with a narrower signature than RequestMethods'.
class _ClosingPoolManager(_ResponseTracking, urllib3.PoolManager):  # type: ignore[misc]
    pass


class _ClosingProxyManager(_ResponseTracking, urllib3.ProxyManager):  # type: ignore[misc]
    pass


class _HttpClient(client.Urllib3HttpGitClient):
    def close(self) -> None:
        self.pool_manager.clear()


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` (plain or URL-quoted) and without the password
    part of any ``scheme://user:password@`` it contains."""
    for secret in secrets:
        if secret:
            for spelling in {secret, quote(secret, safe="")}:
                text = text.replace(spelling, "***")
    return _USERINFO_WITH_PASSWORD.sub("***@", text)


def _local(url: str, path: str) -> Remote:
    # A local path is used as written: `fleet.git` and `fleet` are different directories.
    path = path.rstrip("/") or "/"
    return Remote(url, Transport.LOCAL, f"file://{path}", f"file:{path}")


def _trim(path: str) -> str:
    path = path.rstrip("/")
    return path.removesuffix(".git").rstrip("/") or "/"


def _key(host: str, path: str) -> str:
    return f"{host}/{_trim(path).strip('/')}".lower()
