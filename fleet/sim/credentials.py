"""What clients need to reach the simulator: a CA, a server certificate, tokens, files.

One self-signed CA per run signs the server certificate (valid for 127.0.0.1,
localhost and ::1) and goes into every kubeconfig as `certificate-authority-data`, so
kubectl and kubernetes-asyncio verify TLS as they would against a real cluster (and
kubectl only sends bearer tokens over TLS). Keys are EC P-256: generating them takes
milliseconds, which matters for a test suite that starts many simulators.

Each cluster has its own token, derived from a per-run secret and the cluster name
(HMAC), so a thousand clusters need no token table and one cluster's token is
useless on another. Tokens and keys never appear in a repr; the files that hold them
are created readable by the owner only.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import os
import secrets
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

INVENTORY = "inventory.yaml"
ADMIN_FILE = "admin-token"


class Authority:
    """The run's CA and the server certificate it signed."""

    def __init__(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleet-sim-ca")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleet-sim")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(
                x509.SubjectAlternativeName([
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        self.ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        self._cert_pem = server_cert.public_bytes(serialization.Encoding.PEM)
        self._key_pem = server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def server_context(self) -> ssl.SSLContext:
        """The TLS context the server listens with."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # load_cert_chain reads files only; a private temporary directory holds them briefly.
        with tempfile.TemporaryDirectory(prefix="fleet-sim-") as directory:
            cert, key = Path(directory, "tls.crt"), Path(directory, "tls.key")
            _write_private(cert, self._cert_pem)
            _write_private(key, self._key_pem)
            context.load_cert_chain(cert, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A TLS context that trusts this CA (for in-process clients)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    def __repr__(self) -> str:
        return "Authority(fleet-sim-ca)"


class Tokens:
    """Bearer tokens per cluster, and the admin token, derived from one run secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.admin = self._derive("\x00admin")

    def _derive(self, name: str) -> str:
        digest = hmac.new(self._secret, name.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()

    def for_cluster(self, name: str) -> str:
        return self._derive(name)

    def check(self, name: str, presented: str) -> bool:
        return hmac.compare_digest(self._derive(name), presented)

    def check_admin(self, presented: str) -> bool:
        return hmac.compare_digest(self.admin, presented)

    def __repr__(self) -> str:
        return "Tokens(<secret>)"


def _write_private(path: Path, data: bytes) -> None:
    """Write a file that only its owner may read (tokens, keys)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def kubeconfig(*, name: str, server: str, token: str, ca_pem: bytes | None) -> str:
    """A kubeconfig with one cluster, one user and one current context."""
    cluster: dict[str, object] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}
        ],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)


@dataclass(frozen=True, slots=True)
class ClusterFile:
    """One cluster as the inventory lists it."""

    name: str
    kubeconfig: str
    labels: Mapping[str, str]


def inventory(entries: Sequence[ClusterFile]) -> str:
    """inventory.yaml: the clusters, their kubeconfig paths (relative) and labels."""
    lines = ["clusters:"]
    for entry in entries:
        labels = ", ".join(f"{k}: {_scalar(v)}" for k, v in entry.labels.items())
        lines += [
            f"  - name: {entry.name}",
            f"    kubeconfig: {entry.kubeconfig}",
            f"    labels: {{{labels}}}",
        ]
    return "\n".join(lines) + "\n"


def _scalar(value: str) -> str:
    dumped = yaml.safe_dump(value, default_flow_style=True).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def write_files(
    directory: Path,
    *,
    kubeconfigs: Mapping[str, str],
    entries: Sequence[ClusterFile],
    admin_token: str,
) -> Path:
    """Write every kubeconfig, inventory.yaml and admin-token into `directory` (blocking)."""
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, text in kubeconfigs.items():
        _write_private(directory / file_name, text.encode())
    _write_private(directory / ADMIN_FILE, admin_token.encode() + b"\n")
    path = directory / INVENTORY
    path.write_text(inventory(entries))
    return path
