"""Runway: the request the adapter sends compared with the one the official `runwayml` client
sends for the same inputs, both captured by an httpx MockTransport: method, URL, auth scheme,
the X-Runway-Version header, content type and JSON body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import runwayml
from returns.result import Failure

from adapters.providers.runway import RunwayProvider
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
