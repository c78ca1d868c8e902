"""Object sizes from headers: plain packed objects, deltas, loose objects."""

from __future__ import annotations

import io
from pathlib import Path

from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import Blob, ObjectID
from dulwich.pack import OFS_DELTA, REF_DELTA, write_pack_objects
from dulwich.repo import Repo

from fleet.sources import sizing


def test_sizes_of_packed_deltified_and_loose_objects(tmp_path: Path) -> None:
    base = bytes(range(256)) * 200
    blobs = [
        Blob.from_string(base),
        Blob.from_string(base + b"one more line\n"),
        Blob.from_string(b"small"),
    ]
    loose = Blob.from_string(b"loose " * 1_000)
    with Repo.init_bare(str(tmp_path), mkdir=False) as repo:
        pack = io.BytesIO()
        write_pack_objects(pack, blobs, DEFAULT_OBJECT_FORMAT, deltify=True)
        pack.seek(0)
        repo.object_store.add_thin_pack(pack.read, None)
        repo.object_store.add_object(loose)
        [stored] = repo.object_store.packs
        kinds = {stored.get_unpacked_object(blob.id).pack_type_num for blob in blobs}
        assert kinds & {OFS_DELTA, REF_DELTA}, "the pack should hold a delta to measure"
        with sizing.ObjectSizes(repo.object_store) as sizes:
            for blob in [*blobs, loose]:
                assert sizes.size(blob.id) == blob.raw_length()
            assert sizes.size(ObjectID(b"0" * 40)) is None
