"""The size of a Git object, from its header, before anything is inflated.

dulwich inflates a whole object to hand it over, so a 2 GiB blob in a fleet repository
would cost 2 GiB of memory before any limit could say no. Git records every object's
size up front: a packed object's header holds it (for a delta, the first bytes of the
delta hold the size of the result), and a loose object's first inflated bytes say
``blob 1234``. Reading those few bytes is enough to refuse an object that is too big.

The pack format is stable and documented (gitformat-pack(5)); the code below reads only
headers and relies on dulwich for nothing but the pack index and the file paths.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from typing import IO

from dulwich.object_store import BaseObjectStore
from dulwich.objects import ObjectID
from dulwich.pack import Pack

_OFS_DELTA = 6
_REF_DELTA = 7
_HEADER_BYTES = 64
"""Enough for a pack entry header (at most ~10 bytes) plus a ref-delta's base id."""
_DELTA_PROBE_BYTES = 1024
"""Compressed bytes inflated to reach a delta's two size fields (20 bytes at most)."""


class ObjectSizes:
    """Reads object sizes from one object store; open it per read, then close it.

    Pack files are opened on first use and kept open until `close`, so reading the
    sizes of a whole bundle costs one open per pack, not one per file.
    """

    def __init__(self, store: BaseObjectStore) -> None:
        self._store = store
        self._packs: Sequence[Pack] = store.packs
        self._files: dict[str, IO[bytes]] = {}

    def __enter__(self) -> ObjectSizes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()

    def size(self, sha: ObjectID) -> int | None:
        """The inflated size of the object, or None when its header cannot be read here
        (not in this store, a store kind without files, or a damaged header -- loading
        the object then reports the real problem)."""
        try:
            return self._size(sha)
        except (ValueError, zlib.error):
            return None

    def _size(self, sha: ObjectID) -> int | None:
        for pack in self._packs:
            try:
                offset = pack.index.object_offset(sha)
            except KeyError:
                continue
            return self._packed_size(str(pack.data.path), offset)
        return self._loose_size(sha)

    def _packed_size(self, path: str, offset: int) -> int | None:
        file = self._files.get(path)
        if file is None:
            file = self._files[path] = open(path, "rb")  # noqa: SIM115 -- closed in close()
        file.seek(offset)
        head = file.read(_HEADER_BYTES)
        if not head:
            return None
        type_num = (head[0] >> 4) & 0x07
        size, position = _varint(head, 0, first_bits=4)
        if type_num == _OFS_DELTA:
            while position < len(head) and head[position] & 0x80:
                position += 1
            position += 1
        elif type_num == _REF_DELTA:
            position += 20
        else:
            return size
        file.seek(offset + position)
        delta_head = zlib.decompressobj().decompress(file.read(_DELTA_PROBE_BYTES), 20)
        _, after_base = _varint(delta_head, 0, first_bits=7)
        target_size, _ = _varint(delta_head, after_base, first_bits=7)
        return target_size

    def _loose_size(self, sha: bytes) -> int | None:
        root = getattr(self._store, "path", None)
        if root is None:
            return None
        hexsha = sha.decode() if len(sha) == 40 else sha.hex()
        try:
            with open(os.path.join(root, hexsha[:2], hexsha[2:]), "rb") as file:
                head = zlib.decompressobj().decompress(file.read(_DELTA_PROBE_BYTES), 32)
        except FileNotFoundError:
            return None
        kind_and_size, _, _ = head.partition(b"\x00")
        _, _, size = kind_and_size.partition(b" ")
        return int(size) if size.isdigit() else None


def _varint(data: bytes, start: int, *, first_bits: int) -> tuple[int, int]:
    """Git's little-endian base-128 size: the pack header keeps 4 size bits in its first
    byte (the other 3 are the type); delta headers use all 7."""
    if start >= len(data):
        raise ValueError("object header ends early")
    byte = data[start]
    value = byte & ((1 << first_bits) - 1)
    shift, position = first_bits, start + 1
    while byte & 0x80:
        if position >= len(data):
            raise ValueError("object header ends early")
        byte = data[position]
        value |= (byte & 0x7F) << shift
        shift += 7
        position += 1
    return value, position
