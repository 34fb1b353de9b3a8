"""Luma: the request the adapter sends compared with the one the official `lumaai` client sends
for the same inputs, both captured by an httpx MockTransport: method, URL, auth scheme, content
type and JSON body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import lumaai
import pytest
from returns.result import Failure

from adapters.providers.luma import LumaProvider
from domain.jobs import OperationType
from domain.providers import InputRef, SubmitRequest
from tests.support.recorded_http import Replay, downloader
from tests.unit.adapters.providers.media_replay import recorded

SECRET = "luma-0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
GENERATION = "d5f0a2e4-7b1c-4c55-9a0e-3f6b2c8e1d90"
IMAGE = "https://cdn.example.com/frame0.png"
IMAGE2 = "https://cdn.example.com/frame1.png"
API = "https://api.lumalabs.ai/dream-machine/v1"


def _replay() -> Replay:
    return (Replay().on("POST", r"/generations/", recorded("luma", "generation_created"))
            .on("GET", r"/generations/", recorded("luma", "generation_dreaming"))
            .on("DELETE", r"/generations/", httpx.Response(204)))


def _sdk(call: Callable[[lumaai.AsyncLumaAI], Any]) -> httpx.Request:
    replay = _replay()

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(replay)) as http:
            await call(lumaai.AsyncLumaAI(auth_token=SECRET, http_client=http, max_retries=0))

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _ours(call: Callable[[LumaProvider], Any]) -> httpx.Request:
    replay = _replay()

    async def run() -> None:
        client = replay.client()
        answered = await call(LumaProvider(client, downloader(client), clock=lambda: NOW))
        assert not isinstance(answered, Failure), answered

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _essentials(request: httpx.Request) -> tuple[str, str, str]:
    return request.method, str(request.url), request.headers["authorization"]


def _submit(operation: OperationType, params: dict[str, Any], *refs: str) -> Callable[[LumaProvider], Any]:
    inputs = tuple(InputRef(asset_id=f"a{n}", provider_asset_id=ref, mime_type="image/png", url=None)
                   for n, ref in enumerate(refs))
    request = SubmitRequest(reference="sub-1", operation_type=operation, params=params, inputs=inputs)
    return lambda adapter: adapter.submit(SECRET, request)


VIDEO = {"prompt": "a lighthouse", "aspect_ratio": "9:16", "duration": 9, "resolution": "1080p", "loop": True}
SDK_VIDEO = {"model": "ray-2", "prompt": "a lighthouse", "aspect_ratio": "9:16", "duration": "9s",
             "resolution": "1080p", "loop": True}

CASES = [
    pytest.param(_submit(OperationType.TEXT_TO_VIDEO, VIDEO),
                 lambda sdk: sdk.generations.create(**SDK_VIDEO), "/generations/video", id="text_to_video"),
    pytest.param(_submit(OperationType.IMAGE_TO_VIDEO, VIDEO, IMAGE),
                 lambda sdk: sdk.generations.create(**SDK_VIDEO, keyframes={"frame0": {"type": "image", "url": IMAGE}}),
                 "/generations/video", id="image_to_video"),
    pytest.param(_submit(OperationType.VIDEO_TRANSITION, VIDEO, IMAGE, IMAGE2),
                 lambda sdk: sdk.generations.create(**SDK_VIDEO, keyframes={
                     "frame0": {"type": "image", "url": IMAGE}, "frame1": {"type": "image", "url": IMAGE2}}),
                 "/generations/video", id="video_transition"),
    pytest.param(_submit(OperationType.VIDEO_EXTEND, VIDEO, f"generation:{GENERATION}"),
                 lambda sdk: sdk.generations.create(**SDK_VIDEO, keyframes={
                     "frame0": {"type": "generation", "id": GENERATION}}),
                 "/generations/video", id="video_extend"),
    pytest.param(_submit(OperationType.TEXT_TO_IMAGE, {"prompt": "a cat", "aspect_ratio": "1:1"}),
                 lambda sdk: sdk.generations.image.create(model="photon-1", prompt="a cat", aspect_ratio="1:1"),
                 "/generations/image", id="text_to_image"),
]


@pytest.mark.parametrize(("ours", "theirs", "path"), CASES)
def test_a_generation_is_created_as_the_official_client_creates_it(ours: Callable[[LumaProvider], Any],
                                                                   theirs: Callable[[lumaai.AsyncLumaAI], Any],
                                                                   path: str) -> None:
    sent, expected = _ours(ours), _sdk(theirs)
    assert _essentials(sent) == _essentials(expected) == ("POST", f"{API}{path}", f"Bearer {SECRET}")
    assert sent.headers["content-type"] == expected.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == json.loads(expected.content)


def test_status_and_cancel_are_the_official_clients_calls() -> None:
    assert _essentials(_ours(lambda adapter: adapter.status(SECRET, GENERATION))) == \
        _essentials(_sdk(lambda sdk: sdk.generations.get(GENERATION)))
    assert _essentials(_ours(lambda adapter: adapter.cancel(SECRET, GENERATION))) == \
        _essentials(_sdk(lambda sdk: sdk.generations.delete(GENERATION)))
