"""Protobuf request bodies of the simplest built-in kinds, for kubectl's typed commands.

`kubectl create namespace|configmap|secret|serviceaccount` build the object with
client-go's typed clients, which send `application/vnd.kubernetes.protobuf`, and those
commands are what people type first. The simulator reads the protobuf wire format of
exactly these four kinds (their fields are few and flat), turning the body into the
JSON object the apiserver would have decoded; any other kind in protobuf is 415, and
responses are always JSON, which typed clients accept too.

A body is the `k8s\\x00` magic followed by a `runtime.Unknown` (type meta, raw object);
the raw object is the kind's message with the field numbers of k8s.io/api's
generated.proto. Unknown fields are skipped, as protobuf readers do.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """Not a protobuf body the simulator can read."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str
    """string, bytes, bool, int, map<string,string>, map<string,bytes>, or message."""
    repeated: bool = False
    message: Mapping[int, Field] | None = None


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise ProtobufError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs; values of length-delimited fields are bytes."""
    found: list[tuple[int, int | bytes]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            found.append((number, value))
        elif wire == 2:
            size, position = _varint(data, position)
            if position + size > len(data):
                raise ProtobufError("truncated field")
            found.append((number, data[position : position + size]))
            position += size
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return found


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a length-delimited field")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ProtobufError("a string field is not UTF-8") from None


def _entry(value: int | bytes, *, binary: bool) -> tuple[str, str]:
    pairs = dict(_fields(value if isinstance(value, bytes) else b""))
    key = _text(pairs.get(1, b""))
    raw = pairs.get(2, b"")
    if binary:
        return key, base64.b64encode(raw if isinstance(raw, bytes) else b"").decode()
    return key, _text(raw)


def _message(data: bytes, schema: Mapping[int, Field]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for number, value in _fields(data):
        field = schema.get(number)
        if field is None:
            continue
        if field.kind.startswith("map<"):
            key, item = _entry(value, binary=field.kind.endswith("bytes>"))
            result.setdefault(field.name, {})[key] = item
            continue
        decoded: Any
        if field.kind == "string":
            decoded = _text(value)
        elif field.kind == "bool":
            decoded = bool(value)
        elif field.kind == "int":
            decoded = value if isinstance(value, int) else 0
        else:
            decoded = _message(value if isinstance(value, bytes) else b"", field.message or {})
        if field.repeated:
            result.setdefault(field.name, []).append(decoded)
        elif decoded != "":  # Go writes empty strings to protobuf but omits them in JSON
            result[field.name] = decoded
    return result


_METADATA = {
    1: Field("name", "string"),
    2: Field("generateName", "string"),
    3: Field("namespace", "string"),
    6: Field("resourceVersion", "string"),
    11: Field("labels", "map<string,string>"),
    12: Field("annotations", "map<string,string>"),
    14: Field("finalizers", "string", repeated=True),
}
_META = Field("metadata", "message", message=_METADATA)
_NAME_REFERENCE = {1: Field("name", "string")}

KINDS: dict[tuple[str, str], dict[int, Field]] = {
    ("v1", "Namespace"): {
        1: _META,
        2: Field("spec", "message", message={1: Field("finalizers", "string", repeated=True)}),
    },
    ("v1", "ConfigMap"): {
        1: _META,
        2: Field("data", "map<string,string>"),
        3: Field("binaryData", "map<string,bytes>"),
        4: Field("immutable", "bool"),
    },
    ("v1", "Secret"): {
        1: _META,
        2: Field("data", "map<string,bytes>"),
        3: Field("type", "string"),
        4: Field("stringData", "map<string,string>"),
        5: Field("immutable", "bool"),
    },
    ("v1", "ServiceAccount"): {
        1: _META,
        3: Field("imagePullSecrets", "message", repeated=True, message=_NAME_REFERENCE),
        4: Field("automountServiceAccountToken", "bool"),
    },
}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object a protobuf body holds; ProtobufError if it cannot be read here."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic number")
    envelope = dict(_fields(body[len(MAGIC) :]))
    type_meta = envelope.get(1, b"")
    meta = dict(_fields(type_meta if isinstance(type_meta, bytes) else b""))
    api_version, kind = _text(meta.get(1, b"")), _text(meta.get(2, b""))
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise ProtobufError(f"{api_version} {kind} is only accepted as JSON or YAML")
    raw = envelope.get(2, b"")
    obj = _message(raw if isinstance(raw, bytes) else b"", schema)
    return {"apiVersion": api_version, "kind": kind, **obj}
