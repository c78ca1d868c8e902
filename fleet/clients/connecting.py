"""From a cluster's `Access` to an `Endpoint`: server URL, TLS context and credentials.

kubernetes-asyncio does the part it is good at: reading a kubeconfig context (tokens,
token files, client certificates, exec plugins, OIDC and GCP providers) or the
in-cluster service account into a `Configuration`, and keeping short-lived credentials
fresh through the configuration's refresh hook. fleet does not use its `ApiClient`:
that client builds a fresh TLS context for every client, and one that trusts the
system's CAs (a kubeconfig without CA data, or a plain-HTTP server) costs about 50 ms
and 0.8 MiB each -- a minute and most of a gigabyte for a thousand clusters. Here TLS
contexts are built from the same configuration values the ApiClient would use, but
shared between clusters whose trust and client certificate are the same, and built
in a thread, since loading certificates reads files.

Certificates given inline in a kubeconfig (``certificate-authority-data``,
``client-certificate-data``, ``client-key-data``) have to be files for Python's TLS.
kubernetes-asyncio writes them to temporary files but leaves each file's descriptor open;
fleet writes them itself first, once per content, into a private directory (mode 0700,
files 0600) that is removed when the process exits, and hands the loader paths instead.

An `Endpoint` holds credentials, so its repr shows the server only, and nothing that
`authorization()` returns is ever logged.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import binascii
import copy
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
import urllib.parse
import urllib.request
import weakref
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import ConfigException, kube_config, load_incluster_config

from fleet.clients.inventories import Access
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.objects import ClusterName

CREDENTIAL_CHECK_INTERVAL = 60.0
"""Seconds between checks whether an exec plugin's or auth provider's token has expired."""

_LOCK = threading.Lock()
_TLS: weakref.WeakValueDictionary[str, ssl.SSLContext] = weakref.WeakValueDictionary()


class Endpoint:
    """Where one cluster's API is, how to trust it, and how to prove who fleet is."""

    __slots__ = ("_configuration", "proxy", "server", "server_hostname", "tls")

    def __init__(
        self, configuration: Configuration, tls: ssl.SSLContext | None, proxy: str | None
    ) -> None:
        self._configuration = configuration
        self.server: str = str(configuration.host).rstrip("/")
        self.tls = tls
        self.server_hostname: str | None = configuration.tls_server_name or None
        self.proxy = proxy

    async def authorization(self) -> str | None:
        """The ``Authorization`` header value (refreshed when its source says so), if any."""
        value = await self._configuration.get_api_key_with_prefix("BearerToken")
        return str(value) if value else None

    @property
    def shown(self) -> str:
        """The server URL without any user information, for messages."""
        parts = urllib.parse.urlsplit(self.server)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def __repr__(self) -> str:
        return f"Endpoint({self.shown})"


async def connect(name: ClusterName, access: Access, *, clock: Clock) -> Endpoint:
    """Load ``access`` into an `Endpoint`; `ClusterError` (naming the cluster) if it cannot."""
    configuration = Configuration()
    try:
        if access.in_cluster:
            await asyncio.to_thread(load_incluster_config, client_configuration=configuration)
        else:
            loader = kube_config.KubeConfigLoader(
                config_dict=await asyncio.to_thread(_with_files, access.config),
                active_context=access.context,
                config_base_path=str(access.base),
            )
            await loader.load_and_set(configuration)
            if _expiring(access):
                configuration.refresh_api_key_hook = _refresher(loader.load_and_set, clock)
        server = str(configuration.host)
        tls = None
        if server.startswith("https://"):
            tls = await asyncio.to_thread(_tls_context, configuration)
        proxy = configuration.proxy or await asyncio.to_thread(_proxy_from_environment, server)
    except (ConfigException, OSError, ValueError, KeyError, binascii.Error, ssl.SSLError) as error:
        raise errors.ClusterError(
            f"cannot use {access}: {_describe(error)}", cluster=name
        ) from None
    return Endpoint(configuration, tls, proxy or None)


def _proxy_from_environment(server: str) -> str | None:
    """The proxy that ``HTTPS_PROXY``/``HTTP_PROXY`` and ``NO_PROXY`` give for ``server``,
    as client-go would use; decided once per cluster, not per request (aiohttp's own
    ``trust_env`` looks again, in a thread, on every request)."""
    parts = urllib.parse.urlsplit(server)
    if parts.hostname is None or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _describe(error: Exception) -> str:
    if isinstance(error, OSError) and error.filename:
        return f"{error.strerror or type(error).__name__}: {error.filename}"
    return str(error) or type(error).__name__


def _expiring(access: Access) -> bool:
    users = access.config.get("users") or []
    user = users[0].get("user") if users else None
    return isinstance(user, dict) and ("exec" in user or "auth-provider" in user)


def _refresher(
    reload: Callable[[Configuration], Awaitable[None]], clock: Clock
) -> Callable[[Configuration], Awaitable[None]]:
    """A refresh hook that asks the loader again at most once per interval.

    The configuration calls the hook before every request; the loader itself knows
    whether its token has expired (and only then runs the plugin), but asking it also
    re-reads files, which once a minute is plenty.
    """
    due = clock.now() + CREDENTIAL_CHECK_INTERVAL

    async def refresh(configuration: Configuration) -> None:
        nonlocal due
        if clock.now() >= due:
            due = clock.now() + CREDENTIAL_CHECK_INTERVAL
            await reload(configuration)

    return refresh


def _tls_context(configuration: Configuration) -> ssl.SSLContext:
    """The TLS context for ``configuration`` (blocking: reads certificate files).

    Contexts are shared by everyone with the same CA, client certificate and verification
    settings, and are dropped when the last session using one is closed.
    """
    files = (configuration.ssl_ca_cert, configuration.cert_file, configuration.key_file)
    digest = hashlib.sha256()
    for name in files:
        digest.update(Path(name).read_bytes() if name else b"-")
        digest.update(b"\0")
    strict = not getattr(configuration, "disable_strict_ssl_verification", False)
    digest.update(f"{bool(configuration.verify_ssl)}/{strict}".encode())
    key = digest.hexdigest()
    with _LOCK:
        found = _TLS.get(key)
        if found is not None:
            return found
        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, keyfile=configuration.key_file)
        if not configuration.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if not strict:
            context.verify_flags &= ~ssl.VERIFY_X509_STRICT
        _TLS[key] = context
        return context


_INLINE = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key")}


def _with_files(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a minimal kubeconfig whose inline certificates and keys are files."""
    copied: dict[str, Any] = copy.deepcopy(dict(config))
    for section, fields in (("clusters", _INLINE["cluster"]), ("users", _INLINE["user"])):
        for entry in copied.get(section) or []:
            body = entry.get(section[:-1])
            if not isinstance(body, dict):
                continue
            for name in fields:
                data = body.pop(f"{name}-data", None)
                if data:
                    body[name] = _file_of(base64.standard_b64decode(str(data)))
    return copied


def _file_of(content: bytes) -> str:
    """The path of a private file holding ``content`` (written once per content)."""
    path = _private_directory() / hashlib.sha256(content).hexdigest()
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        partial.replace(path)
    return str(path)


_DIRECTORY: list[Path] = []


def _private_directory() -> Path:
    with _LOCK:
        if not _DIRECTORY:
            _DIRECTORY.append(Path(tempfile.mkdtemp(prefix="fleet-kube-")))  # mode 0700
            atexit.register(shutil.rmtree, _DIRECTORY[0], ignore_errors=True)
        return _DIRECTORY[0]
