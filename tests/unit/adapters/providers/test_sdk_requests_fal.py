"""fal: the requests the adapter sends compared with those of the official `fal-client` for the
same inputs, both captured by an httpx MockTransport (fal-client builds its own httpx client, so
its transport class is replaced by the MockTransport): method, URL (queue host, storage host,
query), auth scheme, body fields and the storage lifecycle header."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import fal_client
import fal_client.client
import httpx
import pytest
from returns.result import Failure

from adapters.providers.fal import FalProvider
from domain.assets import Asset, AssetSource, MediaType
from domain.jobs import OperationType
from domain.providers import SubmitRequest
from tests.support.recorded_http import Replay, downloader, recorded

SECRET = "fal-key-id:0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOOK = "https://pixrelay.example/v1/webhooks/providers/fal"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40
PARAMS = {"prompt": "a red bicycle", "image_size": "square_hd", "num_inference_steps": 2, "num_images": 2,
          "seed": 5}


def _replay() -> Replay:
    return (Replay().on("POST", r"^https://queue\.fal\.run/", recorded("fal", "queued"))
            .on("POST", r"/storage/upload/initiate", recorded("fal", "upload_initiated"))
            .on("PUT", r"^https://storage\.fal-uploads\.example/", httpx.Response(200)))


def _sdk(monkeypatch: pytest.MonkeyPatch, call: Callable[[fal_client.AsyncClient], Any]) -> list[httpx.Request]:
    replay = _replay()
    monkeypatch.setattr(fal_client.client, "AsyncBackupDomainTransport", lambda: httpx.MockTransport(replay))
    asyncio.run(call(fal_client.AsyncClient(key=SECRET)))
    return replay.requests


def _ours(call: Callable[[FalProvider], Any]) -> list[httpx.Request]:
    replay = _replay()

    async def run() -> None:
        client = replay.client()
        answered = await call(FalProvider(client, downloader(client), clock=lambda: NOW, webhook_url=HOOK))
        assert not isinstance(answered, Failure), answered

    asyncio.run(run())
    return replay.requests


def test_a_queue_submission_is_sent_as_the_official_client_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    request = SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE, params=PARAMS)
    [ours] = _ours(lambda adapter: adapter.submit(SECRET, request))
    [theirs] = _sdk(monkeypatch, lambda sdk: sdk.submit("fal-ai/flux/schnell", arguments=PARAMS, webhook_url=HOOK))
    assert (ours.method, str(ours.url), ours.headers["authorization"]) == \
        (theirs.method, str(theirs.url), theirs.headers["authorization"])
    assert ours.url.host == "queue.fal.run" and ours.url.params["fal_webhook"] == HOOK
    assert ours.headers["authorization"] == f"Key {SECRET}"
    assert json.loads(ours.content) == json.loads(theirs.content)


async def _chunks() -> AsyncIterator[bytes]:
    yield PNG


def test_an_upload_uses_the_official_clients_storage_host_and_path(monkeypatch: pytest.MonkeyPatch) -> None:
    asset = Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                  mime_type="image/png", size_bytes=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(),
                  storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename="input.png")
    ours = _ours(lambda adapter: adapter.upload(SECRET, asset, _chunks(), NOW))
    theirs = _sdk(monkeypatch, lambda sdk: sdk.upload(PNG, "image/png", "input.png", repository="fal",
                                                      lifecycle=fal_client.client.StorageSettings(expires_in="1d")))
    assert [(r.method, str(r.url)) for r in ours] == [(r.method, str(r.url)) for r in theirs]
    assert str(ours[0].url) == "https://rest.fal.ai/storage/upload/initiate?storage_type=gcs"
    initiate, put = ours
    assert initiate.headers["authorization"] == theirs[0].headers["authorization"] == f"Key {SECRET}"
    assert json.loads(initiate.content) == json.loads(theirs[0].content)
    assert json.loads(initiate.headers["x-fal-object-lifecycle-preference"]) == \
        json.loads(theirs[0].headers["x-fal-object-lifecycle-preference"])
    assert put.content == theirs[1].content == PNG
    assert put.headers["content-type"] == theirs[1].headers["content-type"] == "image/png"
    # A deliberate difference: fal-client PUTs with its client's default Authorization header;
    # the adapter never sends the key to the signed upload URL (a pre-signed URL needs no key,
    # and the key must not go to a host named in an answer).
    assert "authorization" in theirs[1].headers
    assert "authorization" not in put.headers
