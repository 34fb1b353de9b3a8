"""The small pieces the Runway, PixVerse, Luma and Veo tests share. Recorded answers are read
and replayed by tests/support/recorded_http.py, as for every other provider adapter; `Replay`
here is its in-order replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from adapters.providers.httpio import SafeDownloader
from domain.assets import Asset, AssetSource, MediaType
from tests.support import recorded_http
from tests.support.recorded_http import InOrder as Replay
from tests.support.recorded_http import client as http
from tests.support.recorded_http import fixture_body as body
from tests.support.recorded_http import fixture_json as fixture
from tests.support.recorded_http import recorded

__all__ = ["Replay", "body", "fixture", "http", "recorded"]

T = TypeVar("T")
SECRET = "sk-live-0123456789abcdef"  # echoed back by some fixtures' tests: must never surface
START = datetime(2026, 3, 1, 9, 0, 30, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def downloader(client: httpx.AsyncClient, *, private: bool = False, max_bytes: int = 10_000_000) -> SafeDownloader:
    return recorded_http.downloader(client, max_bytes=max_bytes, private=private)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def drain(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def chunks_of(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def asset(media_type: MediaType = MediaType.IMAGE, mime_type: str = "image/png", size: int = 1234,
          **fields: Any) -> Asset:
    return Asset(id="asset-1", owner_id="user-1", media_type=media_type, source=AssetSource.UPLOADED,
                 mime_type=mime_type, size_bytes=size, sha256="ab" * 32, storage_key="blobs/abab",
                 created_at=START, last_accessed_at=START, **fields)


def media(url: str, data: bytes = b"\x00\x00\x00\x18ftypmp42 fake video bytes") -> Handler:
    """A CDN answering `url` with `data`."""
    def answer(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == url, request.url
        return httpx.Response(200, content=data, headers={"content-type": "video/mp4"})

    return answer
