"""OpenAI images: the request the adapter sends compared with the one the official `openai`
client sends for the same inputs, both captured by an httpx MockTransport: method, URL, auth
scheme, content type, body fields (JSON, or the multipart form of an edit)."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import openai

from adapters.memory.system import ManualClock
from adapters.providers.openai_images import OpenAIImagesProvider
from domain.assets import Asset, AssetSource, MediaType
from domain.jobs import OperationType
from domain.providers import InputRef, SubmitRequest
from tests.support.recorded_http import Replay, downloader, recorded

SECRET = "sk-proj-0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 50


def _sdk_request(call: Any) -> httpx.Request:
    """The request the official client sends, answered with a recorded body."""
    replay = Replay().on("POST", r"/images/", recorded("openai_images", "generated_b64"))

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(replay)) as http:
            sdk = openai.AsyncOpenAI(api_key=SECRET, http_client=http, max_retries=0)
            await call(sdk)

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _adapter_request(request: SubmitRequest, stage: bool = False) -> httpx.Request:
    replay = Replay().on("POST", r"/images/", recorded("openai_images", "generated_b64"))

    async def run() -> None:
        client = replay.client()
        adapter = OpenAIImagesProvider(client, downloader(client), clock=ManualClock(NOW).now)
        inputs: tuple[InputRef, ...] = ()
        if stage:
            staged = (await adapter.upload(SECRET, _asset(), _chunks(), NOW)).unwrap()
            inputs = (InputRef(asset_id="asset-1", provider_asset_id=staged.provider_asset_id,
                               mime_type="image/png"),)
        sent = SubmitRequest(reference=request.reference, operation_type=request.operation_type,
                             params=request.params, inputs=inputs)
        (await adapter.submit(SECRET, sent)).unwrap()

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _asset() -> Asset:
    return Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                 mime_type="image/png", size_bytes=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(),
                 storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename="photo.png")


async def _chunks() -> AsyncIterator[bytes]:
    yield PNG


def _form(request: httpx.Request) -> dict[str, Any]:
    """A multipart body as {field: value} with files as (filename, content type, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        fields[name] = (filename, part.get_content_type(), payload) if filename else payload.decode()
    return fields


def _essentials(request: httpx.Request) -> tuple[str, str, str, str]:
    return (request.method, str(request.url), request.headers["authorization"],
            request.headers["content-type"].split(";")[0])


def test_a_generation_is_sent_as_the_official_client_sends_it() -> None:
    params = {"prompt": "a red bicycle", "n": 2, "size": "1024x1536", "quality": "high",
              "output_format": "webp", "background": "transparent", "moderation": "low"}
    ours = _adapter_request(SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                                          params=params))
    theirs = _sdk_request(lambda sdk: sdk.images.generate(model="gpt-image-1", **params))
    assert _essentials(ours) == _essentials(theirs)
    assert _essentials(ours) == ("POST", "https://api.openai.com/v1/images/generations", f"Bearer {SECRET}",
                                 "application/json")
    assert json.loads(ours.content) == json.loads(theirs.content)


def test_a_generation_with_defaults_sends_the_same_fields_as_the_official_client() -> None:
    ours = _adapter_request(SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                                          params={"prompt": "a red bicycle"}))
    theirs = _sdk_request(lambda sdk: sdk.images.generate(model="gpt-image-1", prompt="a red bicycle"))
    assert _essentials(ours) == _essentials(theirs)
    assert json.loads(ours.content) == json.loads(theirs.content)


def test_an_edit_is_sent_as_the_official_client_sends_it() -> None:
    params = {"prompt": "make it blue", "n": 2, "size": "1024x1024", "quality": "low", "output_format": "jpeg"}
    ours = _adapter_request(SubmitRequest(reference="sub-2", operation_type=OperationType.IMAGE_TO_IMAGE,
                                          params=params), stage=True)
    theirs = _sdk_request(lambda sdk: sdk.images.edit(model="gpt-image-1", image=("photo.png", PNG, "image/png"),
                                                      **params))
    assert _essentials(ours) == _essentials(theirs)
    assert _essentials(ours)[:3] == ("POST", "https://api.openai.com/v1/images/edits", f"Bearer {SECRET}")
    assert _form(ours) == _form(theirs)
