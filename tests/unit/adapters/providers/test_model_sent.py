"""Every adapter sends the model a request names (its catalog model's remote id): in the URL
(Replicate, fal, Veo) or the body's model field (OpenAI, Runway, Luma, PixVerse; Kling's `model_name`). A request
naming no model sends the adapter's default, as before models existed."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from returns.result import Failure, Success

from adapters.models import BUILTIN_MODELS
from adapters.providers.fal import FalProvider
from adapters.providers.httpio import SafeDownloader
from adapters.providers.kling import KlingProvider
from adapters.providers.luma import LumaProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.pixverse import PixverseProvider
from adapters.providers.replicate import ReplicateProvider
from adapters.providers.runway import RunwayProvider
from adapters.providers.veo import VeoProvider
from domain.account_secrets import encode_fields
from domain.jobs import OperationType as Op
from domain.models import find
from domain.ports import ProviderClient
from domain.providers import InputRef, SubmitRequest

NOW = datetime(2026, 12, 3, tzinfo=UTC)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 60).decode()
ANSWERS: dict[str, dict[str, Any]] = {
    "replicate": {"id": "abc123def", "status": "starting"},
    "fal": {"request_id": "0123-4567", "status": "IN_QUEUE"},
    "openai_images": {"created": 1, "data": [{"b64_json": PNG}]},
    "runway": {"id": "0123abcd-0000-4000-8000-000000000000"},
    "luma": {"id": "0123abcd-0000-4000-8000-000000000000", "state": "queued"},
    "veo": {"name": "models/veo-3.0-generate-001/operations/op123"},
    "pixverse": {"ErrCode": 0, "ErrMsg": "success", "Resp": {"video_id": 42}},
    "kling": {"code": 0, "message": "SUCCEED", "request_id": "r1",
              "data": {"task_id": "task123", "task_status": "submitted"}},
}
FACTORIES: dict[str, Callable[[httpx.AsyncClient, SafeDownloader], ProviderClient]] = {
    "replicate": lambda c, d: ReplicateProvider(c, d, clock=lambda: NOW),
    "fal": lambda c, d: FalProvider(c, d, clock=lambda: NOW, jwks_url=None),
    "openai_images": lambda c, d: OpenAIImagesProvider(c, d, clock=lambda: NOW),
    "runway": lambda c, d: RunwayProvider(c, d, clock=lambda: NOW),
    "luma": lambda c, d: LumaProvider(c, d, clock=lambda: NOW),
    "veo": lambda c, d: VeoProvider(c, d, clock=lambda: NOW),
    "pixverse": lambda c, d: PixverseProvider(c, d, clock=lambda: NOW),
    "kling": lambda c, d: KlingProvider(c, d, clock=lambda: NOW),
}


def send(provider_id: str, request: SubmitRequest) -> tuple[httpx.Request, Any]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ANSWERS[provider_id])

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    adapter = FACTORIES[provider_id](client, SafeDownloader(client, max_bytes=1000))
    secret = encode_fields({"access_key": "AK1", "secret_key": "SK" * 20}) if provider_id == "kling" else "secret-key"
    result = asyncio.run(adapter.submit(secret, request))
    assert isinstance(result, Success), result
    assert len(sent) == 1
    return sent[0], json.loads(sent[0].content)


def request_for(model_id: str, operation: Op, **params: Any) -> SubmitRequest:
    model = find(BUILTIN_MODELS, model_id)
    assert model is not None and model.operation(operation) is not None
    op = model.operation(operation)
    assert op is not None
    return SubmitRequest(reference="sub-1", operation_type=operation, params=params, model=model.remote_id,
                         input_fields=op.input_fields)


@pytest.mark.parametrize(("model_id", "operation", "params", "url_ends", "body_model"), [
    ("replicate/black-forest-labs/flux-1.1-pro", Op.TEXT_TO_IMAGE, {"prompt": "fox", "safety_tolerance": 5},
     "/v1/models/black-forest-labs/flux-1.1-pro/predictions", None),
    ("fal/fal-ai/flux/dev", Op.TEXT_TO_IMAGE, {"prompt": "fox", "guidance_scale": 4.0},
     "queue.fal.run/fal-ai/flux/dev", None),
    ("fal/fal-ai/kling-video/v2.1/master/text-to-video", Op.TEXT_TO_VIDEO, {"prompt": "fox", "duration": "10"},
     "queue.fal.run/fal-ai/kling-video/v2.1/master/text-to-video", None),
    ("openai_images/gpt-image-1-mini", Op.TEXT_TO_IMAGE, {"prompt": "fox"}, "/images/generations",
     "gpt-image-1-mini"),
    ("openai_images/dall-e-3", Op.TEXT_TO_IMAGE, {"prompt": "fox", "style": "natural"}, "/images/generations",
     "dall-e-3"),
    ("runway/gen3a_turbo", Op.IMAGE_TO_VIDEO, {"prompt": "fox", "duration": 5}, "/v1/image_to_video",
     "gen3a_turbo"),
    ("luma/ray-flash-2", Op.TEXT_TO_VIDEO, {"prompt": "fox", "duration": 5}, "/generations/video", "ray-flash-2"),
    ("luma/photon-flash-1", Op.TEXT_TO_IMAGE, {"prompt": "fox"}, "/generations/image", "photon-flash-1"),
    ("veo/veo-3.0-fast-generate-001", Op.TEXT_TO_VIDEO, {"prompt": "fox"},
     "/models/veo-3.0-fast-generate-001:predictLongRunning", None),
    ("pixverse/v5", Op.TEXT_TO_VIDEO, {"prompt": "fox", "duration": 5}, "/openapi/v2/video/text/generate", "v5"),
    ("kling/kling-v2-master", Op.TEXT_TO_VIDEO, {"prompt": "fox", "mode": "pro"}, "/v1/videos/text2video", None),
    ("kling/kling-v2-1", Op.IMAGE_TO_VIDEO, {"prompt": "fox", "duration": 10}, "/v1/videos/image2video", None),
])
def test_a_non_default_models_id_is_what_gets_sent(model_id: str, operation: Op, params: dict[str, Any],
                                                    url_ends: str, body_model: str | None) -> None:
    request = request_for(model_id, operation, **params)
    if operation is Op.IMAGE_TO_VIDEO:
        request = SubmitRequest(reference="sub-1", operation_type=operation, params=params, model=request.model,
                                inputs=(InputRef(asset_id="a1", url="https://cdn.example/in.png",
                                                 mime_type="image/png"),))
    provider_id = model_id.split("/")[0]
    sent, body = send(provider_id, request)
    assert str(sent.url).split("?")[0].endswith(url_ends), sent.url
    if body_model is not None:
        assert body["model"] == body_model
    if provider_id == "kling":
        assert body["model_name"] == model_id.split("/", 1)[1]
    assert "fox" in json.dumps(body)
    for key, value in params.items():  # another model's params go as they are
        if key != "prompt":
            assert json.dumps(value) in json.dumps(body), (key, body)


def test_a_replicate_model_pinned_to_a_version_posts_the_version() -> None:
    request = SubmitRequest(reference="sub-1", operation_type=Op.TEXT_TO_IMAGE, params={"prompt": "fox"},
                            model="acme/painter:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa")
    sent, body = send("replicate", request)
    assert sent.url.path == "/v1/predictions"
    assert body["version"].startswith("5c7d5dc6") and body["input"] == {"prompt": "fox"}


def test_a_replicate_model_with_named_inputs_gets_them_there() -> None:
    request = SubmitRequest(reference="sub-1", operation_type=Op.IMAGE_TO_VIDEO, params={"prompt": "fox"},
                            model="kwaivgi/kling-v2.1", input_fields=("start_image",),
                            inputs=(InputRef(asset_id="a1", url="https://cdn.example/in.png", mime_type="image/png"),))
    sent, body = send("replicate", request)
    assert sent.url.path == "/v1/models/kwaivgi/kling-v2.1/predictions"
    assert body["input"] == {"prompt": "fox", "start_image": "https://cdn.example/in.png"}


def test_inputs_that_do_not_fit_the_models_fields_are_refused_before_sending() -> None:
    request = SubmitRequest(reference="sub-1", operation_type=Op.IMAGE_TO_VIDEO, params={"prompt": "fox"},
                            model="acme/two-frames", input_fields=("first", "last"),
                            inputs=(InputRef(asset_id="a1", url="https://cdn.example/in.png", mime_type="image/png"),))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    adapter = ReplicateProvider(client, SafeDownloader(client, max_bytes=1000), clock=lambda: NOW)
    result = asyncio.run(adapter.submit("secret-key", request))
    assert isinstance(result, Failure) and result.failure().code == "INVALID_INPUTS"


@pytest.mark.parametrize("provider_id", sorted(FACTORIES))
def test_the_default_model_named_or_not_sends_the_same_request(provider_id: str) -> None:
    default = next(m for m in BUILTIN_MODELS if m.provider_id == provider_id
                   and {Op.TEXT_TO_IMAGE, Op.TEXT_TO_VIDEO} & set(m.default_for))
    operation = Op.TEXT_TO_IMAGE if Op.TEXT_TO_IMAGE in default.default_for else Op.TEXT_TO_VIDEO
    named = SubmitRequest(reference="sub-1", operation_type=operation, params={"prompt": "fox"},
                          model=default.remote_id)
    unnamed = SubmitRequest(reference="sub-1", operation_type=operation, params={"prompt": "fox"})
    one, one_body = send(provider_id, named)
    other, other_body = send(provider_id, unnamed)
    assert (one.method, str(one.url), one_body) == (other.method, str(other.url), other_body)
