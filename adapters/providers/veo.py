"""Google Veo, through the Gemini API long-running operations
(https://ai.google.dev/gemini-api/docs/video).

Every call carries `x-goog-api-key: <key>`. Base https://generativelanguage.googleapis.com/v1beta.

Documented endpoints used:
- POST /models/{model}:predictLongRunning `{"instances": [{"prompt", "image"?}], "parameters":
  {"aspectRatio", "durationSeconds", "resolution", "negativePrompt"?, "personGeneration"?}}`
  (no `seed`: the Gemini API has none for Veo, and the official google-genai client refuses to
  send one there, "seed parameter is not supported in Gemini API"; a seed is refused as
  INVALID_PARAMS before anything is sent) answers an operation `{"name": "models/{model}/operations/{id}"}`; the name is the
  provider job id. The image of image_to_video is inline: `{"bytesBase64Encoded", "mimeType"}`
  (the Gemini API takes no image URL and rejects `inlineData` here).
- GET /{operation name}: `done` false -> RUNNING; `done` with `error` (google.rpc.Status) ->
  FAILED by its code (3 INVALID_ARGUMENT, 5, 9 -> INVALID unless the message is a safety refusal
  -> MODERATED; 7 PERMISSION_DENIED, 16 UNAUTHENTICATED -> AUTH; 8 RESOURCE_EXHAUSTED ->
  RATE_LIMITED; 1 CANCELLED -> CANCELLED; billing messages -> CREDITS; anything else TRANSIENT);
  `done` with `response.generateVideoResponse.generatedSamples[].video.uri` -> SUCCEEDED; a
  response whose samples were all removed by the safety filters (`raiMediaFilteredCount`,
  `raiMediaFilteredReasons`) -> MODERATED, CONTENT_MODERATED.
- The video URI is downloaded with the same API key (the docs' `curl -L -H "x-goog-api-key"`):
  the key is remembered in memory for the URIs a status answer listed, and sent only to the
  URI's own host, never to where it redirects.
- HTTP errors are `{"error": {"code", "message", "status", "details"}}`: 400 with reason
  API_KEY_INVALID or "API key not valid" -> AUTH; 401/403 AUTH; 429 RESOURCE_EXHAUSTED ->
  RATE_LIMITED, its wait from Retry-After or else the RetryInfo `retryDelay`; a 400 asking to
  enable billing -> CREDITS; other 4xx INVALID; 5xx TRANSIENT.

Inputs: `upload()` reads the image (at most `max_inline_bytes`, 10 MB by default: the request
body has a 20 MB cap) into a small in-process stash and answers `inline:<sha256>` with an expiry
of "now", so the durable upload cache never reuses it and every attempt re-stages the image
right before its submission in the same worker. A submission that finds its image gone (another
process, evicted) fails UNAVAILABLE (nobody's fault; the job retries and re-stages).

Not available: cancellation (the Gemini API documents none for Veo operations: `cancel()` does
nothing), lookup by client reference (`find()` is Success(None)), signed webhooks (none), video
extension and reference images. Generated videos are kept 2 days by Google; an expired URI shows
up as a failed download. Prices in pixrelay credits: 1 per started second (`duration_seconds`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
import msgspec
from returns.result import Failure, Result, Success

from adapters.providers.api_client import ApiClient, ErrorAnswer, ErrorMapping, job_not_found, key_header
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
from domain.ports import OutputUnavailable, UploadedInput
from domain.providers import (
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

VEO_PROVIDER_ID = "veo"
GEMINI_API = "https://generativelanguage.googleapis.com/v1beta"
MAX_INLINE_BYTES = 10 * 1000 * 1000
STASH_BYTES = 64 * 1000 * 1000
DOWNLOAD_KEYS = 1024
INLINE_MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})

_OPERATION = re.compile(r"(models/[A-Za-z0-9.\-]+/)?operations/[A-Za-z0-9_\-]+")
_INLINE = re.compile(r"inline:([0-9a-f]{64})")
_SAFETY = re.compile(r"safety|responsible ai|usage guidelines|violat|sensitive|blocked|filtered", re.IGNORECASE)
_BILLING = re.compile(r"billing|prepay|credit", re.IGNORECASE)
_DELAY = re.compile(r"(\d+)(?:\.\d+)?s")

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class VeoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    negative_prompt: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    duration_seconds: Literal[4, 6, 8] = 8
    resolution: Literal["720p", "1080p"] = "720p"
    person_generation: Literal["allow_all", "allow_adult", "dont_allow"] | None = None


class VeoModels(msgspec.Struct, frozen=True, kw_only=True):
    text_to_video: str = "veo-3.1-generate-preview"
    image_to_video: str = "veo-3.1-generate-preview"


_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration_seconds",
                        default_quantity=8)
_WIRE_NAMES = {"negative_prompt": "negativePrompt", "aspect_ratio": "aspectRatio",
               "duration_seconds": "durationSeconds", "resolution": "resolution",
               "person_generation": "personGeneration"}

VEO_INFO = ProviderInfo(
    id=VEO_PROVIDER_ID,
    name="Google Veo (Gemini API)",
    operations=(
        OperationSpec(operation_type=OperationType.TEXT_TO_VIDEO, params_type=VeoParams, price=_PER_SECOND),
        OperationSpec(operation_type=OperationType.IMAGE_TO_VIDEO, params_type=VeoParams, price=_PER_SECOND,
                      min_inputs=1, max_inputs=1),
    ),
    upload_ttl_seconds=0,
)


def _google_error(body: Mapping[str, Any]) -> dict[str, Any]:
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _error_text(body: Mapping[str, Any], response: httpx.Response) -> str:
    error = _google_error(body)
    return f"{error.get('status', '')}: {error.get('message', '')}" if error else ""


def _retry_delay(error: Mapping[str, Any]) -> int | None:
    for detail in error.get("details") or ():
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        match = _DELAY.fullmatch(delay) if isinstance(delay, str) else None
        if match:
            return int(match.group(1))
    return None


def rejected(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """The failure an error answer stands for, refined from its status class."""
    error, text = _google_error(answer.body), answer.text
    reasons = {detail.get("reason") for detail in error.get("details") or () if isinstance(detail, dict)}
    if "API_KEY_INVALID" in reasons or "api key not valid" in text.lower():
        return failure(FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", classified.message)
    if classified.kind is FailureKind.RATE_LIMITED and classified.retry_after_seconds is None:
        return failure(FailureKind.RATE_LIMITED, classified.code, classified.message, _retry_delay(error))
    if answer.response.status_code == 404:
        return job_not_found(classified)
    if classified.kind is FailureKind.INVALID and _BILLING.search(text):
        return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", classified.message)
    return classified


VEO_ERRORS = ErrorMapping(text=_error_text, refine=rejected)


def operation_error(error: Mapping[str, Any]) -> RemoteStatus:
    """A finished operation's google.rpc.Status as a RemoteStatus."""
    code, message = error.get("code"), str(error.get("message") or "the operation failed")
    raw = f"error {code}"
    text = f"{code}: {message}"
    if code == 1:
        return RemoteStatus(state=RemoteState.CANCELLED, raw_status=raw)
    if _SAFETY.search(message):
        kind, failure_code = FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value
    elif _BILLING.search(message):
        kind, failure_code = FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"
    elif code in (3, 5, 9, 11):
        kind, failure_code = FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"
    elif code in (7, 16):
        kind, failure_code = FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"
    elif code == 8:
        kind, failure_code = FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"
    else:
        kind, failure_code = FailureKind.TRANSIENT, "VEO_OPERATION_FAILED"
    return RemoteStatus(state=RemoteState.FAILED, raw_status=raw, failure=failure(kind, failure_code, text))


def operation_status(operation: Mapping[str, Any]) -> Result[RemoteStatus, ProviderFailure]:
    done = operation.get("done", False)
    if done is not True:
        if done is not False:
            return Failure(malformed("a Veo operation with a non-boolean `done`"))
        return Success(RemoteStatus(state=RemoteState.RUNNING, raw_status="running"))
    error = operation.get("error")
    if isinstance(error, dict):
        return Success(operation_error(error))
    response = operation.get("response")
    video_response = response.get("generateVideoResponse") if isinstance(response, dict) else None
    if not isinstance(video_response, dict):
        return Failure(malformed("a finished Veo operation with neither error nor generateVideoResponse"))
    samples = video_response.get("generatedSamples") or []
    uris = [sample["video"]["uri"] for sample in samples if isinstance(sample, dict)
            and isinstance(sample.get("video"), dict) and isinstance(sample["video"].get("uri"), str)
            and sample["video"]["uri"].startswith("https://")]
    if uris:
        name = operation.get("name")
        outputs = tuple(ProviderOutput(url=uri, mime_type="video/mp4", provider_asset_id=f"{name}/{n}")
                        for n, uri in enumerate(uris))
        return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status="done", outputs=outputs, progress=1.0))
    if video_response.get("raiMediaFilteredCount") or video_response.get("raiMediaFilteredReasons"):
        reasons = "; ".join(str(r) for r in video_response.get("raiMediaFilteredReasons") or ())
        return Success(RemoteStatus(state=RemoteState.FAILED, raw_status="filtered", failure=failure(
            FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value,
            f"the safety filters removed the video: {reasons or 'no reason given'}")))
    return Failure(malformed("a finished Veo operation without videos"))


class _InlineImage(msgspec.Struct, frozen=True):
    data: bytes
    mime_type: str


class VeoProvider:
    """ProviderClient for Veo on the Gemini API."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = GEMINI_API, models: VeoModels | None = None,
                 max_inline_bytes: int = MAX_INLINE_BYTES, stash_bytes: int = STASH_BYTES) -> None:
        self._api = ApiClient(client, base_url, key_header("x-goog-api-key"), VEO_ERRORS)
        self._downloader = downloader
        self._clock = clock
        self._models = models or VeoModels()
        self._max_inline_bytes = max_inline_bytes
        self._stash_bytes = stash_bytes
        self._stash: OrderedDict[str, _InlineImage] = OrderedDict()
        # the key that may fetch each listed video URI; only in memory, never in an output
        self._download_keys: OrderedDict[str, str] = OrderedDict()

    @property
    def info(self) -> ProviderInfo:
        return VEO_INFO

    def _instance(self, prompt: str, request: SubmitRequest) -> dict[str, Any] | ProviderFailure:
        instance: dict[str, Any] = {"prompt": prompt}
        if request.operation_type is OperationType.IMAGE_TO_VIDEO:
            match = _INLINE.fullmatch(request.inputs[0].provider_asset_id or "")
            image = self._stash.get(match.group(1)) if match else None
            if image is None:
                return failure(FailureKind.UNAVAILABLE, "INLINE_INPUT_GONE",
                               "the input image is not staged in this process; it is staged again on retry")
            instance["image"] = {"bytesBase64Encoded": base64.b64encode(image.data).decode(),
                                 "mimeType": image.mime_type}
        return instance

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        default = getattr(self._models, request.operation_type.value, "")
        checked = model_request(VEO_INFO, request, default)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        _, params = checked.unwrap()
        fields = {key: value for key, value in msgspec.to_builtins(params).items() if value is not None}
        instance = self._instance(fields.pop("prompt"), request)
        if isinstance(instance, ProviderFailure):
            return Failure(instance)
        body = {"instances": [instance], "parameters": {_WIRE_NAMES[key]: value for key, value in fields.items()}}
        model = request.model or default
        created = await self._api.send(secret, "POST", f"models/{model}:predictLongRunning", json=body)
        return created_id(created, "name", _OPERATION, "Veo operation")

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return Success(None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _OPERATION.fullmatch(provider_job_id):
            return invalid_job_id("a Veo operation name", provider_job_id)
        status = (await self._api.send(secret, "GET", provider_job_id)).bind(operation_status)
        for output in status.map(lambda s: s.outputs).value_or(()):
            self._remember_key(output.url, secret)
        return status

    def _remember_key(self, url: str, secret: str) -> None:
        self._download_keys[url] = secret
        self._download_keys.move_to_end(url)
        while len(self._download_keys) > DOWNLOAD_KEYS:
            self._download_keys.popitem(last=False)

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        """The Gemini API documents no cancellation of Veo operations."""

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        if asset.media_type is not MediaType.IMAGE or asset.mime_type not in INLINE_MIME_TYPES:
            return Failure(failure(FailureKind.INVALID, "UNSUPPORTED_INPUT",
                                   f"Veo takes PNG, JPEG or WebP images, not {asset.mime_type}"))
        if asset.size_bytes > self._max_inline_bytes:
            return Failure(failure(FailureKind.INVALID, "INPUT_TOO_LARGE",
                                   f"Veo takes inline images up to {self._max_inline_bytes} bytes"))
        data = bytearray()
        async for chunk in chunks:
            data += chunk
            if len(data) > self._max_inline_bytes:
                return Failure(failure(FailureKind.INVALID, "INPUT_TOO_LARGE",
                                       f"Veo takes inline images up to {self._max_inline_bytes} bytes"))
        digest = hashlib.sha256(data).hexdigest()
        self._keep(digest, _InlineImage(bytes(data), asset.mime_type))
        # expires at once: the durable upload cache must never hand this id to another process
        return Success(UploadedInput(provider_asset_id=f"inline:{digest}", expires_at=now))

    def _keep(self, digest: str, image: _InlineImage) -> None:
        self._stash[digest] = image
        self._stash.move_to_end(digest)
        while len(self._stash) > 1 and sum(len(i.data) for i in self._stash.values()) > self._stash_bytes:
            self._stash.popitem(last=False)

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._download(output.url)

    async def _download(self, url: str) -> AsyncIterator[bytes]:
        secret = self._download_keys.get(url)
        if secret is None:
            raise OutputUnavailable("no API key is known for this Veo video; poll its operation first")
        async for chunk in self._downloader.stream(url, headers={"x-goog-api-key": secret}):
            yield chunk
