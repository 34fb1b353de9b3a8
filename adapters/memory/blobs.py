"""BlobStore in a dict: the twin of the disk and S3 stores for tests and simulations."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator

from adapters.blobs.keys import CHUNK_SIZE, blob_key, check_key
from domain.ports import BlobTooLarge, StoredBlob


class InMemoryBlobStore:
    """Same contract as the real stores: content-addressed keys, BlobTooLarge past
    `max_bytes`, KeyError when opening a missing key, ValueError for a malformed key."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    async def put(self, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredBlob:
        digest = hashlib.sha256()
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise BlobTooLarge(f"more than {max_bytes} bytes")
            digest.update(chunk)
            parts.append(chunk)
        key = blob_key(digest.hexdigest())
        self._blobs.setdefault(key, b"".join(parts))
        return StoredBlob(key=key, sha256=digest.hexdigest(), size=size)

    def open(self, key: str) -> AsyncIterator[bytes]:
        return self._read(check_key(key))

    async def _read(self, key: str) -> AsyncIterator[bytes]:
        data = self._blobs.get(key)
        if data is None:
            raise KeyError(key)
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start:start + CHUNK_SIZE]

    async def exists(self, key: str) -> bool:
        return check_key(key) in self._blobs

    async def delete(self, key: str) -> None:
        self._blobs.pop(check_key(key), None)

    async def presigned_url(self, key: str, expires_seconds: int, mime_type: str,
                            filename: str | None = None) -> str | None:
        return None

    def keys(self) -> list[str]:
        """What the store holds; for tests."""
        return sorted(self._blobs)
