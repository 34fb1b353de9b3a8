"""Runway, through its developer API (https://docs.dev.runwayml.com/api/).

Every call carries `Authorization: Bearer <key>` and `X-Runway-Version: 2024-11-06`.

Documented endpoints used:
- POST /v1/text_to_video `{model, promptText, ratio, duration, seed?}` (default model gen4.5);
  POST /v1/image_to_video `{model, promptImage, promptText?, ratio, duration, seed?}` (gen4_turbo);
  POST /v1/text_to_image `{model, promptText, ratio, seed?, referenceImages?}` (gen4_image), also
  used for image_to_image with 1-3 `referenceImages` `[{uri, tag}]`. Each answers `{"id": ...}`.
- GET /v1/tasks/{id}. Statuses: PENDING and THROTTLED -> QUEUED, RUNNING -> RUNNING (`progress`),
  SUCCEEDED -> SUCCEEDED with `output` (a list of URLs), FAILED -> FAILED classified by
  `failureCode` (docs "Task failures": SAFETY.* and INPUT_PREPROCESSING.SAFETY.* are content
  moderation -> MODERATED, CONTENT_MODERATED; ASSET.INVALID* -> INVALID; INTERNAL.BAD_OUTPUT.*,
  INPUT_PREPROCESSING.INTERNAL, INTERNAL and anything else -> TRANSIENT), CANCELLED -> CANCELLED.
  Output URLs "expire within 24-48 hours": a task that succeeded more than 24 h ago (by its
  `createdAt` and the injected clock) is FAILED with OUTPUT_EXPIRED (TRANSIENT), so the job is
  generated again rather than failing on a dead link.
- DELETE /v1/tasks/{id}: cancels a PENDING/THROTTLED/RUNNING task, deletes a finished one. Used
  only for cancellation, best effort.
- POST /v1/uploads `{filename, type: "ephemeral"}` answers `{uploadUrl, fields, runwayUri}`; the
  file is then POSTed as multipart (the `fields` plus `file`) to `uploadUrl` WITHOUT the API key.
  The `runway://` URI is what promptImage/referenceImages take; it is valid 24 h (23 h used).
  `uploadUrl` comes from Runway, but is still checked like an output URL (https, public host).
- HTTP errors (docs "API errors"): 400 invalid input (`{"error": ...}`), 401 key rejected, 404
  unknown task, 429 throttled (Retry-After honoured when sent), 502/503/504 load shedding. A 400
  saying "not have enough credits" is CREDITS.

Not used / assumptions: there is no lookup by client reference (`find()` is Success(None)); Runway
documents no signed webhooks, so there is no `verify_webhook`; video_to_video, upscale, audio and
the other models are not offered. Model names come from `models=`; the params are those of the
default models (a replacement must accept the same ratios and durations).

Prices in pixrelay credits: 1 per started second of video (`duration`), 1 per image.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
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
    call,
    created_id,
    failure,
    invalid_job_id,
    malformed,
)
from adapters.providers.model_request import model_request
from domain.accounts import FailureKind
from domain.assets import Asset
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable, UploadedInput
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

RUNWAY_PROVIDER_ID = "runway"
RUNWAY_API = "https://api.dev.runwayml.com"
API_VERSION = "2024-11-06"
UPLOAD_TTL = timedelta(hours=23)  # runway:// URIs live 24 h
OUTPUT_TTL = timedelta(hours=24)  # output URLs "expire within 24-48 hours"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # documented ephemeral upload limit

_TASK_ID = re.compile(r"[0-9a-fA-F-]{8,64}")

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Seed = Annotated[int, msgspec.Meta(ge=0, le=4294967295)]
Seconds = Annotated[int, msgspec.Meta(ge=2, le=10, description="video length in seconds")]
ImageRatio = Literal["1024:1024", "1080:1080", "1168:880", "1360:768", "1440:1080", "1080:1440", "1808:768",
                     "1920:1080", "1080:1920", "2112:912", "1280:720", "720:1280", "720:720", "960:720",
                     "720:960", "1680:720"]


class RunwayTextToVideoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    ratio: Literal["1280:720", "720:1280"] = "1280:720"
    duration: Seconds = 5
    seed: Seed | None = None


class RunwayImageToVideoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt | None = None
    ratio: Literal["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"] = "1280:720"
    duration: Seconds = 5
    seed: Seed | None = None


class RunwayImageParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    ratio: ImageRatio = "1024:1024"
    seed: Seed | None = None


class RunwayModels(msgspec.Struct, frozen=True, kw_only=True):
    text_to_video: str = "gen4.5"
    image_to_video: str = "gen4_turbo"
    text_to_image: str = "gen4_image"
    image_to_image: str = "gen4_image"


_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)
_PER_IMAGE = PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE)

RUNWAY_INFO = ProviderInfo(
    id=RUNWAY_PROVIDER_ID,
    name="Runway",
    operations=(
        OperationSpec(operation_type=OperationType.TEXT_TO_VIDEO, params_type=RunwayTextToVideoParams,
                      price=_PER_SECOND),
        OperationSpec(operation_type=OperationType.IMAGE_TO_VIDEO, params_type=RunwayImageToVideoParams,
                      price=_PER_SECOND, min_inputs=1, max_inputs=1),
        OperationSpec(operation_type=OperationType.TEXT_TO_IMAGE, params_type=RunwayImageParams, price=_PER_IMAGE),
        OperationSpec(operation_type=OperationType.IMAGE_TO_IMAGE, params_type=RunwayImageParams,
                      price=_PER_IMAGE, min_inputs=1, max_inputs=3),
    ),
    upload_ttl_seconds=int(UPLOAD_TTL.total_seconds()),
)

_ENDPOINTS = {
    OperationType.TEXT_TO_VIDEO: "/v1/text_to_video",
    OperationType.IMAGE_TO_VIDEO: "/v1/image_to_video",
    OperationType.TEXT_TO_IMAGE: "/v1/text_to_image",
    OperationType.IMAGE_TO_IMAGE: "/v1/text_to_image",
}


def _error_text(body: Mapping[str, Any], response: httpx.Response) -> str:
    error = body.get("error")
    return str(error) if error else response.text[:300]


def rejected(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """The failure an error answer stands for, refined from its status class."""
    if answer.response.status_code == 400 and "enough credits" in answer.text.lower():
        return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", classified.message)
    if answer.response.status_code == 404:
        return job_not_found(classified)
    return classified


RUNWAY_ERRORS = ErrorMapping(text=_error_text, refine=rejected)


def failed_task(code: Any, reason: Any) -> ProviderFailure:
    """A FAILED task by its dot-separated failureCode (docs "Task failures")."""
    failure_code = code if isinstance(code, str) else ""
    message = f"{failure_code or 'no failureCode'}: {reason or 'the task failed'}"
    if failure_code.startswith(("SAFETY", "INPUT_PREPROCESSING.SAFETY")):
        return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, message)
    if failure_code.startswith("ASSET.INVALID"):
        return failure(FailureKind.INVALID, "RUNWAY_ASSET_INVALID", message)
    return failure(FailureKind.TRANSIENT, "RUNWAY_TASK_FAILED", message)


def _created_at(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


TASK_STATUS = StatusWords("Runway task status", {
    "PENDING": RemoteState.QUEUED, "THROTTLED": RemoteState.QUEUED, "RUNNING": RemoteState.RUNNING,
    "CANCELLED": RemoteState.CANCELLED, "SUCCEEDED": RemoteState.SUCCEEDED,
    "FAILED": lambda task: failed_task(task.get("failureCode"), task.get("failure")),
})


def task_status(task: Mapping[str, Any], now: datetime) -> Result[RemoteStatus, ProviderFailure]:
    progress = task.get("progress") if isinstance(task.get("progress"), int | float) else None
    return TASK_STATUS.read(task.get("status"), task, lambda: _succeeded(task, now), progress=progress)


def _succeeded(task: Mapping[str, Any], now: datetime) -> Result[RemoteStatus, ProviderFailure]:
    raw = "SUCCEEDED"
    output = task.get("output")
    urls = [url for url in output if isinstance(url, str) and url.startswith("https://")] \
        if isinstance(output, list) else []
    if not urls:
        return Failure(malformed("a SUCCEEDED Runway task without output URLs"))
    created = _created_at(task.get("createdAt"))
    if created is not None and now - created > OUTPUT_TTL:
        return Success(RemoteStatus(state=RemoteState.FAILED, raw_status=raw, failure=failure(
            FailureKind.TRANSIENT, "OUTPUT_EXPIRED", "the task's output URLs have expired (24 h)")))
    task_id = task.get("id")
    outputs = tuple(ProviderOutput(url=url, provider_asset_id=f"{task_id}/{n}") for n, url in enumerate(urls))
    return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status=raw, outputs=outputs, progress=1.0))


def _input_uri(ref: InputRef) -> str:
    return ref.provider_asset_id or ref.url or ""


class RunwayProvider:
    """ProviderClient for Runway's task API."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = RUNWAY_API,
                 models: RunwayModels | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self._client = client
        self._api = ApiClient(client, base_url, bearer, RUNWAY_ERRORS, headers={"X-Runway-Version": API_VERSION},
                              empty_ok=True)
        self._downloader = downloader
        self._clock = clock
        self._models = models or RunwayModels()
        self._max_upload_bytes = max_upload_bytes

    @property
    def info(self) -> ProviderInfo:
        return RUNWAY_INFO

    def _body(self, operation: OperationType, params: msgspec.Struct,
              inputs: tuple[InputRef, ...]) -> dict[str, Any]:
        fields = {key: value for key, value in msgspec.to_builtins(params).items() if value is not None}
        prompt = fields.pop("prompt", None)
        body: dict[str, Any] = {"model": getattr(self._models, operation.value), **fields}
        if prompt is not None:
            body["promptText"] = prompt
        if operation is OperationType.IMAGE_TO_VIDEO:
            body["promptImage"] = _input_uri(inputs[0])
        elif operation is OperationType.IMAGE_TO_IMAGE:
            body["referenceImages"] = [{"uri": _input_uri(ref), "tag": f"image{n + 1}"}
                                       for n, ref in enumerate(inputs)]
        return body

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        default = getattr(self._models, request.operation_type.value, "")
        checked = model_request(RUNWAY_INFO, request, default)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        _, params = checked.unwrap()
        body = self._body(request.operation_type, params, request.inputs)
        body["model"] = request.model or default
        created = await self._api.send(secret, "POST", _ENDPOINTS[request.operation_type], json=body)
        return created_id(created, "id", _TASK_ID, "created Runway task")

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return Success(None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _TASK_ID.fullmatch(provider_job_id):
            return invalid_job_id("a Runway task id", provider_job_id)
        answered = await self._api.send(secret, "GET", f"/v1/tasks/{provider_job_id}")
        return answered.bind(lambda task: task_status(task, self._clock()))

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        if _TASK_ID.fullmatch(provider_job_id):
            await self._api.call(secret, "DELETE", f"/v1/tasks/{provider_job_id}")

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        if asset.size_bytes > self._max_upload_bytes:
            return Failure(failure(FailureKind.INVALID, "INPUT_TOO_LARGE",
                                   f"Runway takes uploads up to {self._max_upload_bytes} bytes"))
        filename = asset.original_filename or f"{asset.sha256[:16]}.{asset.mime_type.rsplit('/', 1)[-1]}"
        started = await self._api.send(secret, "POST", "/v1/uploads", json={"filename": filename, "type": "ephemeral"})
        if isinstance(started, Failure):
            return Failure(started.failure())
        slot = started.unwrap()
        upload_url, fields, uri = slot.get("uploadUrl"), slot.get("fields"), slot.get("runwayUri")
        if not isinstance(upload_url, str) or not isinstance(fields, dict) or not isinstance(uri, str) \
                or not uri.startswith("runway://"):
            return Failure(malformed("the Runway upload slot lacks uploadUrl, fields or runwayUri"))
        try:
            await self._downloader.check(upload_url)
        except OutputUnavailable as refused:
            return Failure(malformed(f"refused Runway upload URL: {refused}"))
        stored = await self._put_file(upload_url, {str(k): str(v) for k, v in fields.items()},
                                      filename, asset.mime_type, chunks)
        if stored is not None:
            return Failure(stored)
        return Success(UploadedInput(provider_asset_id=uri, expires_at=now + UPLOAD_TTL))

    async def _put_file(self, url: str, fields: dict[str, str], filename: str, mime_type: str,
                        chunks: AsyncIterator[bytes]) -> ProviderFailure | None:
        # multipart needs a re-readable body: spool to a temporary file rather than memory
        with tempfile.TemporaryFile() as spool:
            async for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            answered = await call(self._client, "POST", url, data=fields, files={"file": (filename, spool, mime_type)})
        if isinstance(answered, Failure):
            problem: ProviderFailure = answered.failure()
            return problem
        response = answered.unwrap()
        if response.is_success:
            return None
        return failure(FailureKind.TRANSIENT, "RUNWAY_UPLOAD_FAILED",
                       f"the upload storage answered {response.status_code}")

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._downloader.stream(output.url)
