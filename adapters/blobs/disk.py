"""BlobStore on the local filesystem: the embedded default."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from adapters.blobs.keys import CHUNK_SIZE, blob_key, check_key
from domain.ports import BlobTooLarge, StoredBlob


class LocalDiskBlobStore:
    """Blobs live at `root/sha256/ab/cd/<sha>`. A put streams into `root/.tmp/` (same
    filesystem, so the final rename is atomic) while hashing; readers never see a partial
    file. Blocking file calls run in worker threads, one chunk at a time."""

    def __init__(self, root: Path) -> None:
        self._root = Path(os.path.abspath(root))
        self._tmp = self._root / ".tmp"

    async def put(self, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredBlob:
        await asyncio.to_thread(self._tmp.mkdir, parents=True, exist_ok=True)
        fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=self._tmp, prefix="put-")
        tmp = Path(name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as file:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(f"more than {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(file.write, chunk)
                await asyncio.to_thread(_flush_to_disk, file)
            key = blob_key(digest.hexdigest())
            await asyncio.to_thread(_settle, tmp, self._path(key))
        except BaseException:
            # Synchronous on purpose: it must run even when the task is being cancelled.
            tmp.unlink(missing_ok=True)  # noqa: ASYNC240
            raise
        return StoredBlob(key=key, sha256=digest.hexdigest(), size=size)

    def open(self, key: str) -> AsyncIterator[bytes]:
        return self._read(key, self._path(key))

    async def _read(self, key: str, path: Path) -> AsyncIterator[bytes]:
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise KeyError(key) from None
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
                yield chunk
        finally:
            file.close()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def presigned_url(self, key: str, expires_seconds: int, mime_type: str,
                            filename: str | None = None) -> str | None:
        return None

    def _path(self, key: str) -> Path:
        path = Path(os.path.normpath(self._root / check_key(key)))
        if not path.is_relative_to(self._root):  # belt and braces behind the key pattern
            raise ValueError(f"blob key escapes the store: {key[:100]!r}")
        return path


def _flush_to_disk(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())


def _settle(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        tmp.unlink()  # the same bytes are already stored
    else:
        os.replace(tmp, final)
