"""Content-addressed blob keys, shared by every BlobStore adapter."""

from __future__ import annotations

import re

_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})")

CHUNK_SIZE = 64 * 1024


def blob_key(sha256: str) -> str:
    """`sha256/ab/cd/abcd...`: the same bytes always land at the same key."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError("not a lowercase hex sha256 digest")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def check_key(key: str) -> str:
    """The key itself if it is one `blob_key` could have made; ValueError otherwise.
    Anything else (`..`, absolute paths, separators, extensions) never reaches a store."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a blob key: {key[:100]!r}")
    return key
