"""Runway: the request the adapter sends compared with the one the official `runwayml` client
sends for the same inputs, both captured by an httpx MockTransport: method, URL, auth scheme,
the X-Runway-Version header, content type and JSON body."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import runwayml
from returns.result import Failure
from runwayml.resources.uploads import _RunwayCreateUploadArguments

from adapters.providers.runway import RunwayProvider
from domain.assets import Asset, AssetSource, MediaType
from domain.jobs import OperationType
from domain.providers import InputRef, SubmitRequest
from tests.support.recorded_http import Replay, downloader
from tests.unit.adapters.providers.media_replay import recorded

SECRET = "key_0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TASK = "17f20503-6c24-4c16-946b-35dbbce2af2f"
URI = "runway://ephemeral/3b5a"


def _replay() -> Replay:
    return (Replay().on("POST", r"/v1/(text|image)_to_", recorded("runway", "task_created"))
            .on("GET", r"/v1/tasks/", recorded("runway", "task_running"))
            .on("DELETE", r"/v1/tasks/", httpx.Response(204)))


def _sdk(call: Callable[[runwayml.AsyncRunwayML], Any]) -> httpx.Request:
    replay = _replay()

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(replay)) as http:
            await call(runwayml.AsyncRunwayML(api_key=SECRET, http_client=http, max_retries=0))

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _ours(call: Callable[[RunwayProvider], Any]) -> httpx.Request:
    replay = _replay()

    async def run() -> None:
        client = replay.client()
        answered = await call(RunwayProvider(client, downloader(client), clock=lambda: NOW))
        assert not isinstance(answered, Failure), answered

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _essentials(request: httpx.Request) -> tuple[str, str, str, str]:
    return (request.method, str(request.url), request.headers["authorization"],
            request.headers["x-runway-version"])


def _submit(operation: OperationType, params: dict[str, Any], inputs: int = 0) -> Callable[[RunwayProvider], Any]:
    refs = tuple(InputRef(asset_id=f"a{n}", provider_asset_id=f"{URI}{n}", mime_type="image/png")
                 for n in range(inputs))
    request = SubmitRequest(reference="sub-1", operation_type=operation, params=params, inputs=refs)
    return lambda adapter: adapter.submit(SECRET, request)


CASES = [
    pytest.param(_submit(OperationType.TEXT_TO_VIDEO, {"prompt": "waves", "ratio": "720:1280", "duration": 8,
                                                       "seed": 9}),
                 lambda sdk: sdk.text_to_video.create(model="gen4.5", prompt_text="waves", ratio="720:1280",
                                                      duration=8, seed=9),
                 "/v1/text_to_video", id="text_to_video"),
    pytest.param(_submit(OperationType.IMAGE_TO_VIDEO, {"prompt": "waves", "ratio": "960:960", "duration": 5,
                                                        "seed": 9}, inputs=1),
                 lambda sdk: sdk.image_to_video.create(model="gen4_turbo", prompt_image=f"{URI}0", prompt_text="waves",
                                                       ratio="960:960", duration=5, seed=9),
                 "/v1/image_to_video", id="image_to_video"),
    pytest.param(_submit(OperationType.TEXT_TO_IMAGE, {"prompt": "a cat", "ratio": "1920:1080", "seed": 9}),
                 lambda sdk: sdk.text_to_image.create(model="gen4_image", prompt_text="a cat", ratio="1920:1080",
                                                      seed=9),
                 "/v1/text_to_image", id="text_to_image"),
    pytest.param(_submit(OperationType.IMAGE_TO_IMAGE, {"prompt": "@image1 as a cat", "ratio": "1024:1024"}, inputs=2),
                 lambda sdk: sdk.text_to_image.create(
                     model="gen4_image", prompt_text="@image1 as a cat", ratio="1024:1024",
                     reference_images=[{"uri": f"{URI}0", "tag": "image1"}, {"uri": f"{URI}1", "tag": "image2"}]),
                 "/v1/text_to_image", id="image_to_image"),
]


@pytest.mark.parametrize(("ours", "theirs", "path"), CASES)
def test_a_task_is_created_as_the_official_client_creates_it(ours: Callable[[RunwayProvider], Any],
                                                             theirs: Callable[[runwayml.AsyncRunwayML], Any],
                                                             path: str) -> None:
    sent, expected = _ours(ours), _sdk(theirs)
    assert _essentials(sent) == _essentials(expected)
    assert _essentials(sent)[:3] == ("POST", f"https://api.dev.runwayml.com{path}", f"Bearer {SECRET}")
    assert sent.headers["content-type"] == expected.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == json.loads(expected.content)


def test_status_and_cancel_are_the_official_clients_calls() -> None:
    assert _essentials(_ours(lambda adapter: adapter.status(SECRET, TASK))) == \
        _essentials(_sdk(lambda sdk: sdk.tasks.retrieve(TASK)))
    assert _essentials(_ours(lambda adapter: adapter.cancel(SECRET, TASK))) == \
        _essentials(_sdk(lambda sdk: sdk.tasks.delete(TASK)))


def test_an_upload_starts_with_the_official_clients_request() -> None:
    # runwayml's uploads.create_ephemeral POSTs this model to /v1/uploads, then posts the file to
    # the answer's uploadUrl with a client of its own (not capturable), so the first request is
    # compared with the model the SDK sends.
    replay = (Replay().on("POST", r"/v1/uploads$", recorded("runway", "upload_slot"))
              .on("POST", r"^https://runway-task-artifacts\.s3\.amazonaws\.com/$", httpx.Response(204)))

    async def run() -> None:
        client = replay.client()
        adapter = RunwayProvider(client, downloader(client), clock=lambda: NOW)
        (await adapter.upload(SECRET, _asset(), _chunks(), NOW)).unwrap()

    asyncio.run(run())
    start, put = replay.requests
    assert (start.method, str(start.url), start.headers["authorization"]) == (
        "POST", "https://api.dev.runwayml.com/v1/uploads", f"Bearer {SECRET}")
    assert json.loads(start.content) == _RunwayCreateUploadArguments(filename="input.png").model_dump()
    assert "authorization" not in put.headers


PNG = b"\x89PNG\r\n\x1a\n" + b"\x03" * 40


def _asset() -> Asset:
    return Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                 mime_type="image/png", size_bytes=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(),
                 storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename="input.png")


async def _chunks() -> AsyncIterator[bytes]:
    yield PNG
