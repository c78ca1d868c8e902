"""Stable digests of desired state, so the engine can tell which clusters changed.

A digest is SHA-256 over a canonical JSON form: keys sorted, no whitespace, objects in
key order. The same desired state gives the same digest whatever the order of files,
documents or keys it came from, and on any machine. It covers only what the engine acts
on (manifests and bundle options), not the commit it came from, so a commit that changes
one bundle changes the digests of the clusters that bundle reaches and no others.

A digest covers a whole bundle, never one object or one value: a digest of a single
Secret value would let anyone who sees it test guesses of that value.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(value: Any) -> bytes:
    """``value`` as canonical JSON bytes (sorted keys, no whitespace, UTF-8)."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode()


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical form of ``value``."""
    return "sha256:" + hashlib.sha256(canonical(value)).hexdigest()
