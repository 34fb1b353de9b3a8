"""OpenAI images (https://platform.openai.com/docs/api-reference/images).

Documented endpoints used (base https://api.openai.com/v1, `Authorization: Bearer <key>`):
- POST /images/generations (JSON) for text_to_image;
- POST /images/edits (multipart: `image`, `prompt`, ...) for image_to_image.
Both answer synchronously with `data[]` entries holding `b64_json` (GPT image models always) or a
`url` (dall-e with response_format=url, valid 60 minutes).

The API has no jobs, so submit() makes the call and keeps the result in a small bounded
in-process cache under a generated id (oai-<hex>); status() answers SUCCEEDED with its outputs.
Base64 images are never turned into `data:` URLs (the SSRF guard refuses them): their outputs
carry an `openai-result://<id>/<n>` address that download() serves from the cache; real URLs go
through the SafeDownloader. A well-formed id this process does not hold (restart, another worker,
evicted) is FAILED with TRANSIENT code OPENAI_RESULT_LOST so the job is generated again.
find() knows the references submitted in this process only. cancel() is a no-op.

Inputs are sent inline: upload() keeps the bytes in-process under a local handle and submit()
sends them with the edit. The handle expires at once (expires_at = now) so the upload cache
never hands it to another worker or to a later attempt; each attempt stages its input anew.

Errors (`{"error": {"message", "type", "code"}}`): 401/403 AUTH; 429 RATE_LIMITED with
Retry-After, but 429 `insufficient_quota` and 400 `billing_hard_limit_reached` -> CREDITS;
400 `content_policy_violation` / `moderation_blocked` (or safety-system wording) -> MODERATED
(CONTENT_MODERATED), final for the job; other 4xx INVALID; 5xx and timeouts TRANSIENT. A slow
generation takes as long as the injected httpx client's timeout allows.

Price, in credits where 1 credit is about US$0.01: 6 per image (gpt-image-1 at medium quality,
1024x1024, rounded up; quality and size are not priced separately; override with `prices=`).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
import msgspec
from returns.result import Failure, Result, Success

from adapters.providers.api_client import ApiClient, ErrorAnswer, ErrorMapping, bearer
from adapters.providers.httpio import (
    CHUNK,
    SafeDownloader,
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

OPENAI_PROVIDER_ID = "openai_images"
OPENAI_API = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-image-1"
RESULT_TTL = timedelta(hours=1)
MAX_RESULTS = 64
MAX_STAGED_INPUTS = 16
MAX_INPUT_BYTES = 50 * 1024 * 1024  # the documented limit for GPT image model inputs
RESULT_SCHEME = "openai-result://"
LOST = "OPENAI_RESULT_LOST"

_JOB_ID = re.compile(r"oai-[0-9a-f]{32}")
_HANDLE = re.compile(r"oai-input-[0-9a-f]{32}")
_RESULT_URL = re.compile(re.escape(RESULT_SCHEME) + r"(oai-[0-9a-f]{32})/(\d+)")
_SAFETY = re.compile(r"safety system|content polic", re.IGNORECASE)
_MODERATION_CODES = {"content_policy_violation", "moderation_blocked"}
_CREDIT_CODES = {"insufficient_quota", "billing_hard_limit_reached"}

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=32000)]
Count = Annotated[int, msgspec.Meta(ge=1, le=4)]
Size = Literal["auto", "1024x1024", "1536x1024", "1024x1536"]
Quality = Literal["auto", "low", "medium", "high"]
OutputFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "transparent", "opaque"]


class GenerateParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """POST /images/generations body fields (defaults are left for OpenAI to apply)."""

    prompt: Prompt
    n: Count = 1
    size: Size = "auto"
    quality: Quality = "auto"
    output_format: OutputFormat = "png"
    background: Background = "auto"
    moderation: Literal["auto", "low"] = "auto"


class EditParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """POST /images/edits form fields besides the image."""

    prompt: Prompt
    n: Count = 1
    size: Size = "auto"
    quality: Quality = "auto"
    output_format: OutputFormat = "png"
    background: Background = "auto"


_PER_IMAGE = PriceRule(credits_per_unit=6, unit=PriceUnit.IMAGE, quantity_param="n")


@dataclass(frozen=True)
class Route:
    path: str
    params: type[msgspec.Struct]
    inputs: int


ROUTES: dict[OperationType, Route] = {
    OperationType.TEXT_TO_IMAGE: Route("/images/generations", GenerateParams, 0),
    OperationType.IMAGE_TO_IMAGE: Route("/images/edits", EditParams, 1),
}


@dataclass(frozen=True)
class _Image:
    mime_type: str
    data: bytes | None = None
    url: str | None = None


@dataclass(frozen=True)
class _Result:
    reference: str
    created_at: datetime
    images: tuple[_Image, ...]


@dataclass(frozen=True)
class _Staged:
    data: bytes
    mime_type: str
    filename: str


def _error(body: Mapping[str, Any]) -> dict[str, Any]:
    found = body.get("error")
    return found if isinstance(found, dict) else {}


def _message(body: Mapping[str, Any], response: httpx.Response) -> str:
    return str(_error(body).get("message") or response.text[:300])


def _rejected(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """The failure class of an error answer, refined by OpenAI's error object."""
    error, message = _error(answer.body), answer.text
    codes = {str(error.get("code")), str(error.get("type"))}
    if codes & _CREDIT_CODES:
        return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", classified.message)
    if answer.response.status_code == 400 and (codes & _MODERATION_CODES or _SAFETY.search(message)):
        return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, message)
    return classified


OPENAI_ERRORS = ErrorMapping(text=_message, refine=_rejected)


def _images(body: Mapping[str, Any], mime_type: str) -> Result[tuple[_Image, ...], ProviderFailure]:
    data = body.get("data")
    if not isinstance(data, list) or not data:
        return Failure(malformed("the answer has no images in `data`"))
    images = []
    for entry in data:
        encoded = entry.get("b64_json") if isinstance(entry, dict) else None
        url = entry.get("url") if isinstance(entry, dict) else None
        if isinstance(encoded, str):
            try:
                images.append(_Image(mime_type, data=base64.b64decode(encoded, validate=True)))
            except binascii.Error:
                return Failure(malformed("an image's b64_json is not base64"))
        elif isinstance(url, str):
            images.append(_Image(mime_type, url=url))
        else:
            return Failure(malformed("an image has neither b64_json nor url"))
    return Success(tuple(images))


class OpenAIImagesProvider:
    """ProviderClient for OpenAI's synchronous image API (no webhooks)."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = OPENAI_API,
                 models: Mapping[OperationType, str] | None = None,
                 prices: Mapping[OperationType, PriceRule] | None = None) -> None:
        self._api = ApiClient(client, base_url, bearer, OPENAI_ERRORS)
        self._downloader = downloader
        self._clock = clock
        self._models = {operation: (models or {}).get(operation, DEFAULT_MODEL) for operation in ROUTES}
        self._results: OrderedDict[str, _Result] = OrderedDict()
        self._by_reference: dict[str, str] = {}
        self._staged: OrderedDict[str, _Staged] = OrderedDict()
        self._info = ProviderInfo(
            id=OPENAI_PROVIDER_ID, name="OpenAI images",
            operations=tuple(OperationSpec(operation_type=operation, params_type=route.params,
                                           price=(prices or {}).get(operation, _PER_IMAGE),
                                           min_inputs=route.inputs, max_inputs=route.inputs)
                             for operation, route in ROUTES.items()),
            upload_ttl_seconds=0,
        )

    @property
    def info(self) -> ProviderInfo:
        return self._info

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        default = self._models.get(request.operation_type, "")
        checked = model_request(self._info, request, default)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        _, params = checked.unwrap()
        route = ROUTES[request.operation_type]
        fields = {"model": request.model or default, **msgspec.to_builtins(params)}
        if route.inputs:
            files = self._files(request.inputs)
            if isinstance(files, Failure):
                return Failure(files.failure())
            body = await self._api.send(secret, "POST", route.path, files=files.unwrap(),
                                        data={key: str(value) for key, value in fields.items()})
        else:
            body = await self._api.send(secret, "POST", route.path, json=fields)
        if isinstance(body, Failure):
            return Failure(body.failure())
        images = _images(body.unwrap(), f"image/{getattr(params, 'output_format', 'png')}")
        if isinstance(images, Failure):
            return Failure(images.failure())
        return Success(self._keep(request.reference, images.unwrap()))

    def _files(self, inputs: tuple[InputRef, ...]) -> Result[list[tuple[str, tuple[str, bytes, str]]], ProviderFailure]:
        staged = [self._staged.get(ref.provider_asset_id or "") for ref in inputs]
        if any(item is None for item in staged):
            return Failure(failure(FailureKind.TRANSIENT, "OPENAI_INPUT_NOT_STAGED",
                                   "the input was not staged in this process; stage it again"))
        return Success([("image", (item.filename, item.data, item.mime_type)) for item in staged if item])

    def _keep(self, reference: str, images: tuple[_Image, ...]) -> str:
        self._evict()
        job_id = f"oai-{uuid.uuid4().hex}"
        self._results[job_id] = _Result(reference=reference, created_at=self._clock(), images=images)
        self._by_reference[reference] = job_id
        return job_id

    def _evict(self) -> None:
        horizon = self._clock() - RESULT_TTL
        for job_id in [j for j, r in self._results.items() if r.created_at < horizon]:
            self._forget(job_id)
        while len(self._results) >= MAX_RESULTS:
            self._forget(next(iter(self._results)))

    def _forget(self, job_id: str) -> None:
        result = self._results.pop(job_id)
        if self._by_reference.get(result.reference) == job_id:
            del self._by_reference[result.reference]

    def _result(self, job_id: str) -> _Result | None:
        self._evict()
        return self._results.get(job_id)

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        job_id = self._by_reference.get(reference)
        return Success(job_id if job_id is not None and self._result(job_id) is not None else None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _JOB_ID.fullmatch(provider_job_id):
            return invalid_job_id("an OpenAI images result id", provider_job_id)
        result = self._result(provider_job_id)
        if result is None:
            return Success(RemoteStatus(state=RemoteState.FAILED, raw_status="lost", failure=failure(
                FailureKind.TRANSIENT, LOST, "the generated images are not held by this process any more")))
        outputs = tuple(
            ProviderOutput(url=image.url or f"{RESULT_SCHEME}{provider_job_id}/{n}", mime_type=image.mime_type,
                           provider_asset_id=f"{provider_job_id}/{n}")
            for n, image in enumerate(result.images))
        return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status="completed", outputs=outputs,
                                    progress=1.0))

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        """Nothing to cancel: the work was done inside submit()."""

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        if asset.size_bytes > MAX_INPUT_BYTES:
            return Failure(failure(FailureKind.INVALID, "INPUT_TOO_LARGE",
                                   f"OpenAI image inputs are limited to {MAX_INPUT_BYTES} bytes"))
        data = bytearray()
        async for chunk in chunks:
            data += chunk
            if len(data) > MAX_INPUT_BYTES:
                return Failure(failure(FailureKind.INVALID, "INPUT_TOO_LARGE",
                                       f"OpenAI image inputs are limited to {MAX_INPUT_BYTES} bytes"))
        handle = f"oai-input-{uuid.uuid4().hex}"
        extension = asset.mime_type.partition("/")[2] or "png"
        self._staged[handle] = _Staged(bytes(data), asset.mime_type, asset.original_filename or f"input.{extension}")
        while len(self._staged) > MAX_STAGED_INPUTS:
            self._staged.popitem(last=False)
        return Success(UploadedInput(provider_asset_id=handle, expires_at=now))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        if output.url.startswith(RESULT_SCHEME):
            return self._cached(output.url)
        return self._downloader.stream(output.url)

    async def _cached(self, url: str) -> AsyncIterator[bytes]:
        match = _RESULT_URL.fullmatch(url)
        result = self._result(match.group(1)) if match else None
        index = int(match.group(2)) if match else 0
        if result is None or index >= len(result.images) or result.images[index].data is None:
            raise OutputUnavailable(f"no cached OpenAI image at {url}")
        data = result.images[index].data or b""
        for start in range(0, len(data), CHUNK):
            yield data[start:start + CHUNK]
