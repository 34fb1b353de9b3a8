"""Replicate: the request the adapter sends compared with the one the official `replicate`
client sends for the same inputs, both captured by an httpx MockTransport: method, URL, auth
scheme, content type, body fields."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import replicate
from returns.result import Failure

from adapters.providers.replicate import ReplicateProvider
from domain.assets import Asset, AssetSource, MediaType
from domain.jobs import OperationType
from domain.providers import SubmitRequest
from tests.support.recorded_http import Replay, downloader, recorded

SECRET = "r8_0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PID = "gm3qorzdhgbfurvjtvhg6dckhu"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60
HOOK = "https://pixrelay.example/v1/webhooks/providers/replicate"
# Every field given, so neither side fills in defaults of its own (the adapter sends its typed
# params' defaults; the official client sends only what it is given).
PARAMS = {"prompt": "a red bicycle", "num_outputs": 2, "aspect_ratio": "16:9", "output_format": "png",
          "num_inference_steps": 2, "seed": 7}


def _replay() -> Replay:
    return (Replay().on("POST", r"/predictions$", recorded("replicate", "prediction_created"))
            .on("GET", r"/predictions/", recorded("replicate", "prediction_processing"))
            .on("POST", r"/cancel$", recorded("replicate", "prediction_canceled"))
            .on("POST", r"/files$", recorded("replicate", "file_created")))


def _sdk(call: Callable[[replicate.Client], object]) -> httpx.Request:
    replay = _replay()
    call(replicate.Client(api_token=SECRET, transport=httpx.MockTransport(replay)))
    assert len(replay.requests) == 1
    return replay.requests[0]


def _ours(call: Callable[[ReplicateProvider], Any], **options: Any) -> httpx.Request:
    replay = _replay()

    async def run() -> None:
        client = replay.client()
        adapter = ReplicateProvider(client, downloader(client), clock=lambda: NOW, **options)
        answered = await call(adapter)
        assert not isinstance(answered, Failure), answered

    asyncio.run(run())
    assert len(replay.requests) == 1
    return replay.requests[0]


def _essentials(request: httpx.Request) -> tuple[str, str, str]:
    return request.method, str(request.url), request.headers["authorization"]


def _request(operation: OperationType = OperationType.TEXT_TO_IMAGE) -> SubmitRequest:
    return SubmitRequest(reference="sub-1", operation_type=operation, params=PARAMS)


def test_an_official_model_prediction_is_created_as_the_official_client_does() -> None:
    ours = _ours(lambda adapter: adapter.submit(SECRET, _request()), webhook_url=HOOK)
    theirs = _sdk(lambda sdk: sdk.models.predictions.create(
        model="black-forest-labs/flux-schnell", input=PARAMS, webhook=HOOK, webhook_events_filter=["completed"]))
    assert _essentials(ours) == _essentials(theirs) == (
        "POST", "https://api.replicate.com/v1/models/black-forest-labs/flux-schnell/predictions", f"Bearer {SECRET}")
    assert ours.headers["content-type"] == theirs.headers["content-type"] == "application/json"
    assert json.loads(ours.content) == json.loads(theirs.content)


def test_a_pinned_version_prediction_is_created_as_the_official_client_does() -> None:
    version = "5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637"
    ours = _ours(lambda adapter: adapter.submit(SECRET, _request()),
                 models={OperationType.TEXT_TO_IMAGE: f"black-forest-labs/flux-schnell:{version}"})
    theirs = _sdk(lambda sdk: sdk.predictions.create(version=version, input=PARAMS))
    assert _essentials(ours) == _essentials(theirs) == (
        "POST", "https://api.replicate.com/v1/predictions", f"Bearer {SECRET}")
    assert json.loads(ours.content) == json.loads(theirs.content)


def test_status_and_cancel_are_the_official_clients_calls() -> None:
    assert _essentials(_ours(lambda adapter: adapter.status(SECRET, PID))) == \
        _essentials(_sdk(lambda sdk: sdk.predictions.get(PID)))
    assert _essentials(_ours(lambda adapter: adapter.cancel(SECRET, PID))) == \
        _essentials(_sdk(lambda sdk: sdk.predictions.cancel(PID)))


def _form(request: httpx.Request) -> dict[str, Any]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
            for part in message.iter_parts()}


async def _chunks() -> AsyncIterator[bytes]:
    yield PNG


def test_a_file_upload_is_the_official_clients_multipart_content_field() -> None:
    asset = Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                  mime_type="image/png", size_bytes=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(),
                  storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename="input.png")
    ours = _ours(lambda adapter: adapter.upload(SECRET, asset, _chunks(), NOW))
    theirs = _sdk(lambda sdk: sdk.files.create(io.BytesIO(PNG), filename="input.png", content_type="image/png"))
    assert _essentials(ours) == _essentials(theirs) == ("POST", "https://api.replicate.com/v1/files",
                                                        f"Bearer {SECRET}")
    assert _form(ours)["content"] == _form(theirs)["content"] == ("input.png", "image/png", PNG)
    # The official client also sends an empty `metadata` part; it is optional in the API.
    assert set(_form(theirs)) - set(_form(ours)) <= {"metadata"}
