"""Protobuf bodies of Namespaces, ConfigMaps, Secrets and ServiceAccounts (kubectl create)."""

import random

import pytest

from fleet.sim import protobuf


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return protobuf.MAGIC + field(1, type_meta) + field(2, raw)


def entry(key: str, value: bytes) -> bytes:
    return field(1, key.encode()) + field(2, value)


def test_a_configmap() -> None:
    metadata = (
        field(1, b"web") + field(2, b"") + field(3, b"shop")
        + field(11, entry("app", b"web")) + field(99, b"ignored")
    )  # fmt: skip
    raw = (
        field(1, metadata) + field(2, entry("a", b"1")) + field(2, entry("b", b"2"))
        + field(3, entry("bin", b"\x00\x01")) + field(4, 1)
    )  # fmt: skip
    assert protobuf.decode(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "data": {"a": "1", "b": "2"},
        "binaryData": {"bin": "AAE="},
        "immutable": True,
    }


def test_a_namespace_and_a_service_account() -> None:
    namespace = field(1, field(1, b"shop")) + field(2, field(1, b"kubernetes"))
    assert protobuf.decode(envelope("v1", "Namespace", namespace))["spec"] == {
        "finalizers": ["kubernetes"]
    }
    account = field(1, field(1, b"robot")) + field(3, field(1, b"pull")) + field(4, 0)
    decoded = protobuf.decode(envelope("v1", "ServiceAccount", account))
    assert decoded["imagePullSecrets"] == [{"name": "pull"}]
    assert decoded["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "magic"),
        (envelope("apps/v1", "Deployment", b""), "only accepted as JSON or YAML"),
        (protobuf.MAGIC + b"\x0a\x05ab", "truncated field"),
        (protobuf.MAGIC + b"\x0a", "truncated varint"),
        (protobuf.MAGIC + b"\x0b", "unsupported wire type"),
        (envelope("v1", "ConfigMap", field(1, field(1, b"\xff"))), "not UTF-8"),
        (envelope("v1", "ConfigMap", field(1, field(1, 5))), "length-delimited"),
    ],
)
def test_what_cannot_be_read(body: bytes, message: str) -> None:
    with pytest.raises(protobuf.ProtobufError, match=message):
        protobuf.decode(body)


def test_random_bytes_never_escape_as_another_error() -> None:
    rng = random.Random(7)
    valid = envelope("v1", "ConfigMap", field(1, field(1, b"web")) + field(2, entry("a", b"1")))
    for _ in range(3000):
        body = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(protobuf.MAGIC), len(body))] = rng.randrange(256)
        try:
            decoded = protobuf.decode(bytes(body)[: rng.randrange(4, len(body) + 1)])
        except protobuf.ProtobufError:
            continue
        assert isinstance(decoded, dict)
