"""Luma Dream Machine, through its generations API (https://docs.lumalabs.ai/).

Every call carries `Authorization: Bearer <key>`. Base https://api.lumalabs.ai/dream-machine/v1.

Documented endpoints used:
- POST /generations/video `{prompt, model, aspect_ratio, loop, resolution, duration ("5s" |
  "9s"), keyframes?}` where `keyframes.frame0/frame1` is `{"type": "image", "url": ...}` or
  `{"type": "generation", "id": ...}`: text_to_video (no keyframes), image_to_video (frame0 an
  image), video_transition (frame0 and frame1 images), video_extend (frame0 a Luma generation).
- POST /generations/image `{prompt, model, aspect_ratio}`: text_to_image. (Both paths as the
  current official lumaai client posts them; the older bare `/generations` is legacy.)
- GET /generations/{id}: `state` queued -> QUEUED, dreaming -> RUNNING, completed -> SUCCEEDED
  with `assets.video` (or `assets.image`), failed -> FAILED with `failure_reason`: moderation
  ("advanced moderation failed", "not allowed") -> MODERATED, CONTENT_MODERATED; otherwise
  TRANSIENT. Luma has no cancelled state.
- DELETE /generations/{id}: used as best-effort cancellation (Luma documents no cancel; deleting
  the generation is the only way to drop it).
- Errors are `{"detail": ...}`: 401/403 AUTH, 402 or a detail about credits CREDITS, 429
  RATE_LIMITED (Retry-After), 5xx TRANSIENT, other 4xx INVALID, and a 400 whose detail speaks of
  moderation ("prompt not allowed") MODERATED.

Inputs: the API takes image URLs only and has no upload endpoint, so an image input needs a
public URL (InputRef.url); `upload()` of an image answers INVALID, INPUT_URL_REQUIRED. A video
Luma generated itself is referenced by its generation id (`generation:<id>`, for video_extend)
without any upload.

Not available: callbacks (`callback_url`) are not signed, so there is no `verify_webhook`; no
lookup by client reference (`find()` is Success(None)); upscale, audio, modify and reframe are not
offered. Output URLs have no documented expiry. Prices in pixrelay credits: 1 per started second
of video (`duration` 5 or 9), 1 per image.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
import msgspec
from returns.result import Failure, Result, Success

from adapters.providers.api_client import (
    ApiClient,
    ErrorAnswer,
    ErrorMapping,
    StatusWords,
    bearer,
    job_not_found,
)
from adapters.providers.httpio import (
    SafeDownloader,
    created_id,
    failure,
    invalid_job_id,
    malformed,
)
from adapters.providers.model_request import model_request
from domain.accounts import FailureKind
from domain.assets import Asset, MediaType
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import UploadedInput
from domain.providers import (
    InputRef,
    OperationSpec,
    PriceRule,
    PriceUnit,
    ProviderFailure,
    ProviderInfo,
    ProviderOutput,
    RemoteState,
    RemoteStatus,
    SubmitRequest,
)

LUMA_PROVIDER_ID = "luma"
LUMA_API = "https://api.lumalabs.ai/dream-machine/v1"

_GENERATION_ID = re.compile(r"[0-9a-fA-F-]{8,64}")
_GENERATION_REF = re.compile(r"generation:([0-9a-fA-F-]{8,64})")
_MODERATION = re.compile(r"moderat|not allowed|safety|nsfw|policy", re.IGNORECASE)

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
AspectRatio = Literal["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"]


class LumaVideoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    aspect_ratio: AspectRatio = "16:9"
    duration: Literal[5, 9] = 5
    resolution: Literal["540p", "720p", "1080p", "4k"] = "720p"
    loop: bool = False


class LumaImageParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    aspect_ratio: AspectRatio = "16:9"


class LumaModels(msgspec.Struct, frozen=True, kw_only=True):
    video: str = "ray-2"
    image: str = "photon-1"


_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)


def _video(operation: OperationType, inputs: int) -> OperationSpec:
    return OperationSpec(operation_type=operation, params_type=LumaVideoParams, price=_PER_SECOND,
                         min_inputs=inputs, max_inputs=inputs)


LUMA_INFO = ProviderInfo(
    id=LUMA_PROVIDER_ID,
    name="Luma Dream Machine",
    operations=(
        _video(OperationType.TEXT_TO_VIDEO, 0),
        _video(OperationType.IMAGE_TO_VIDEO, 1),
        _video(OperationType.VIDEO_TRANSITION, 2),
        _video(OperationType.VIDEO_EXTEND, 1),
        OperationSpec(operation_type=OperationType.TEXT_TO_IMAGE, params_type=LumaImageParams,
                      price=PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE)),
    ),
)


def _detail(body: Mapping[str, Any], response: httpx.Response) -> str:
    detail = body.get("detail")
    return str(detail) if detail else response.text[:300]


def rejected(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """The failure an error answer stands for, refined from its status class."""
    text, response = answer.text, answer.response
    if classified.kind is not FailureKind.INVALID:
        return classified
    if "credit" in text.lower():
        return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", classified.message)
    if _MODERATION.search(text):
        return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, classified.message)
    if response.status_code == 404:
        return job_not_found(classified)
    return classified


LUMA_ERRORS = ErrorMapping(text=_detail, refine=rejected)


def failed_generation(reason: Any) -> ProviderFailure:
    text = str(reason) if reason else "the generation failed without a reason"
    if _MODERATION.search(text):
        return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, text)
    return failure(FailureKind.TRANSIENT, "LUMA_GENERATION_FAILED", text)


GENERATION_STATE = StatusWords("Luma generation state", {
    "queued": RemoteState.QUEUED, "dreaming": RemoteState.RUNNING, "completed": RemoteState.SUCCEEDED,
    "failed": lambda generation: failed_generation(generation.get("failure_reason")),
})


def generation_status(generation: Mapping[str, Any]) -> Result[RemoteStatus, ProviderFailure]:
    return GENERATION_STATE.read(generation.get("state"), generation, lambda: _completed(generation))


def _completed(generation: Mapping[str, Any]) -> Result[RemoteStatus, ProviderFailure]:
    state = "completed"
    assets = generation.get("assets")
    assets = assets if isinstance(assets, dict) else {}
    video, image = assets.get("video"), assets.get("image")
    url, mime = (video, "video/mp4") if isinstance(video, str) and video else (image, None)
    if not isinstance(url, str) or not url.startswith("https://"):
        return Failure(malformed("a completed Luma generation without a video or image URL"))
    output = ProviderOutput(url=url, mime_type=mime, provider_asset_id=str(generation.get("id")))
    return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status=state, outputs=(output,), progress=1.0))


def _keyframe(ref: InputRef, operation: OperationType) -> dict[str, str] | ProviderFailure:
    generation = _GENERATION_REF.fullmatch(ref.provider_asset_id or "")
    if operation is OperationType.VIDEO_EXTEND:
        if generation is None:
            return failure(FailureKind.INVALID, "INVALID_INPUTS", "Luma extends only videos Luma generated")
        return {"type": "generation", "id": generation.group(1)}
    url = ref.url or (ref.provider_asset_id if (ref.provider_asset_id or "").startswith("https://") else None)
    if url is None:
        return failure(FailureKind.INVALID, "INPUT_URL_REQUIRED", "Luma takes image inputs as public URLs only")
    return {"type": "image", "url": url}


class LumaProvider:
    """ProviderClient for Luma's Dream Machine API."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = LUMA_API, models: LumaModels | None = None) -> None:
        self._api = ApiClient(client, base_url, bearer, LUMA_ERRORS, empty_ok=True)
        self._downloader = downloader
        self._clock = clock
        self._models = models or LumaModels()

    @property
    def info(self) -> ProviderInfo:
        return LUMA_INFO

    def _body(self, operation: OperationType, params: msgspec.Struct,
              inputs: tuple[InputRef, ...]) -> dict[str, Any] | ProviderFailure:
        body: dict[str, Any] = msgspec.to_builtins(params)
        if operation is OperationType.TEXT_TO_IMAGE:
            return body | {"model": self._models.image}
        body |= {"model": self._models.video, "duration": f"{body['duration']}s"}
        keyframes: dict[str, Any] = {}
        for name, ref in zip(("frame0", "frame1"), inputs, strict=False):
            frame = _keyframe(ref, operation)
            if isinstance(frame, ProviderFailure):
                return frame
            keyframes[name] = frame
        if keyframes:
            body["keyframes"] = keyframes
        return body

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        image = request.operation_type is OperationType.TEXT_TO_IMAGE
        default = self._models.image if image else self._models.video
        checked = model_request(LUMA_INFO, request, default)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        _, params = checked.unwrap()
        body = self._body(request.operation_type, params, request.inputs)
        if isinstance(body, ProviderFailure):
            return Failure(body)
        body["model"] = request.model or default
        path = "/generations/image" if request.operation_type is OperationType.TEXT_TO_IMAGE else "/generations/video"
        created = await self._api.send(secret, "POST", path, json=body)
        return created_id(created, "id", _GENERATION_ID, "created Luma generation")

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return Success(None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _GENERATION_ID.fullmatch(provider_job_id):
            return invalid_job_id("a Luma generation id", provider_job_id)
        return (await self._api.send(secret, "GET", f"/generations/{provider_job_id}")).bind(generation_status)

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        if _GENERATION_ID.fullmatch(provider_job_id):
            await self._api.call(secret, "DELETE", f"/generations/{provider_job_id}")

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        if asset.media_type is MediaType.VIDEO and asset.provider_id == LUMA_PROVIDER_ID \
                and _GENERATION_ID.fullmatch(asset.provider_asset_id or ""):
            return Success(UploadedInput(provider_asset_id=f"generation:{asset.provider_asset_id}"))
        return Failure(failure(FailureKind.INVALID, "INPUT_URL_REQUIRED",
                               "Luma has no upload endpoint: inputs need a public URL"))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._downloader.stream(output.url)
