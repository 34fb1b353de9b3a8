"""Replaying recorded provider answers (tests/fixtures/providers/<provider>/*.json) through
httpx.MockTransport, and the other small pieces the Runway, PixVerse, Luma and Veo tests share.

A fixture is `{"doc": ..., "status": 200, "headers": {...}, "json": {...}}` or `"text"` instead
of `"json"` for a body that is not JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from adapters.providers.httpio import SafeDownloader
from domain.assets import Asset, AssetSource, MediaType

T = TypeVar("T")
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers"
PUBLIC_IP = "93.184.216.34"
SECRET = "sk-live-0123456789abcdef"  # echoed back by some fixtures' tests: must never surface
START = datetime(2026, 3, 1, 9, 0, 30, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def fixture(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / provider / f"{name}.json").read_text())
    return loaded


def body(provider: str, name: str) -> Any:
    return fixture(provider, name)["json"]


def recorded(provider: str, name: str, **json_overrides: Any) -> httpx.Response:
    """The recorded answer; top-level JSON keys can be replaced for one test."""
    loaded = fixture(provider, name)
    headers = loaded.get("headers", {})
    if "json" in loaded:
        content = loaded["json"] | json_overrides if json_overrides else loaded["json"]
        return httpx.Response(loaded["status"], headers=headers, json=content)
    return httpx.Response(loaded["status"], headers=headers, text=loaded["text"])


class Replay:
    """Answers each request with the next response in line and keeps the requests it saw."""

    def __init__(self, *responses: httpx.Response | Handler) -> None:
        self._responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._responses:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self._responses.pop(0)
        return answer if isinstance(answer, httpx.Response) else answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def http(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_IP]


async def private_resolver(host: str, port: int) -> list[str]:
    return ["10.20.30.40"]


def downloader(client: httpx.AsyncClient, *, private: bool = False, max_bytes: int = 10_000_000) -> SafeDownloader:
    return SafeDownloader(client, max_bytes=max_bytes, resolver=private_resolver if private else public_resolver)


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
