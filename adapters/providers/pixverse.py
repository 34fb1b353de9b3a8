"""PixVerse, through its platform OpenAPI (https://docs.platform.pixverse.ai/).

Every call carries `API-KEY: <key>` and `Ai-trace-id: <uuid>` ("must be unique for each
request"). Every request gets a fresh one, a re-sent submission included (PixVerse documents no
idempotency by trace id, and a reused id breaks its "unique for each request" rule).

Answers are `{"ErrCode": 0, "ErrMsg": "success", "Resp": {...}}`, often with HTTP 200 even for
errors: ErrCode != 0 is an error whatever the status code.

Documented endpoints used (base https://app-api.pixverse.ai):
- POST /openapi/v2/video/text/generate `{model, prompt, negative_prompt?, duration, quality,
  aspect_ratio, motion_mode?, seed?}`; POST /openapi/v2/video/img/generate (same plus `img_id`,
  no aspect_ratio); POST /openapi/v2/video/transition/generate (`first_frame_img_id`,
  `last_frame_img_id`); POST /openapi/v2/video/extend/generate (`source_video_id` for a PixVerse
  video or `video_media_id` for an uploaded one). All answer `Resp.video_id`.
- GET /openapi/v2/video/result/{video_id}: `Resp.status` 1 generation successful -> SUCCEEDED
  (`Resp.url`); 5 generating/waiting -> RUNNING; 6 deleted -> FAILED, OUTPUT_EXPIRED (TRANSIENT,
  generate again); 7 contents moderation failed -> MODERATED, CONTENT_MODERATED; 8 generation
  failed -> FAILED, TRANSIENT. Any other value is a malformed answer.
- POST /openapi/v2/image/upload, multipart field `image` (png/webp/jpeg, < 20 MB) -> `Resp.img_id`.
  POST /openapi/v2/media/upload for a video, multipart field `file` (ASSUMED: the field name is
  not in the pages we could read) -> `Resp.media_id`. A video PixVerse generated itself is not
  uploaded again: its video id is used as `source_video_id`.
  Provider asset ids are kept as `img:<id>`, `media:<id>` or `video:<id>`. PixVerse documents no
  expiry for uploads; 24 h is assumed.
- Webhooks ("Webhook integration"): POST with `Webhook-Timestamp` (unix seconds),
  `Webhook-Nonce` (32 chars) and `Webhook-Signature` = Base64(HMAC-SHA256(secret,
  "{timestamp}\\n{nonce}\\n{url_encoded_payload}")); body `{id, status, url, ...}` with the same
  status codes. ASSUMED canonical payload: the body's top-level fields sorted by key, booleans as
  true/false, form-url-encoded as key=value joined by & (the docs' wording; to be checked
  against a live delivery: a mismatch only rejects callbacks, polling still finishes jobs).
  Timestamps more than 5 minutes away are refused; the nonce is the delivery id.

Errors: HTTP 401/403 AUTH, 402 CREDITS, 429 RATE_LIMITED (Retry-After), 5xx TRANSIENT. ErrCode
500044 ("Reached the limit for concurrent generations", docs "Common errors") is RATE_LIMITED.
We could not read the numbered error-code table, so other codes are classified by their ErrMsg
(the categories of "Common errors and solutions"): API key -> AUTH, credits/balance -> CREDITS,
concurrency/rate -> RATE_LIMITED, moderation/sensitive -> MODERATED, parameters/image
format/size -> INVALID, anything else TRANSIENT.

Not available: cancellation (none documented: `cancel()` does nothing) and lookup by client
reference (`find()` is Success(None)). Image generation, effects, lip sync, fusion etc. are not
offered. Prices in pixrelay credits: 1 per started second of video (`duration`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import httpx
import msgspec
from returns.result import Failure, Result, Success

from adapters.providers.api_client import ApiClient, ErrorAnswer, ErrorMapping, StatusWords, key_header
from adapters.providers.httpio import (
    SafeDownloader,
    failure,
    header,
    invalid_job_id,
    json_object,
    malformed,
)
from adapters.providers.model_request import model_request
from domain.accounts import FailureKind
from domain.assets import Asset, MediaType
from domain.errors import DomainError, ErrorCode, unauthenticated, validation
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
    WebhookEvent,
)

PIXVERSE_PROVIDER_ID = "pixverse"
PIXVERSE_API = "https://app-api.pixverse.ai"
UPLOAD_TTL = timedelta(hours=24)
WEBHOOK_TOLERANCE = timedelta(minutes=5)
MAX_IMAGE_BYTES = 20 * 1000 * 1000
CONCURRENCY_LIMIT = 500044

_VIDEO_ID = re.compile(r"[1-9][0-9]{0,19}")
_ASSET_ID = re.compile(r"(img|media|video):([1-9][0-9]{0,19})")

VIDEO_STATUS = StatusWords("PixVerse video status", {
    1: RemoteState.SUCCEEDED, 5: RemoteState.RUNNING,
    6: lambda _: failure(FailureKind.TRANSIENT, "OUTPUT_EXPIRED", "the PixVerse video was deleted"),
    7: lambda _: failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, "contents moderation failed"),
    8: lambda _: failure(FailureKind.TRANSIENT, "PIXVERSE_GENERATION_FAILED", "generation failed"),
})

_MESSAGE_CLASSES: tuple[tuple[re.Pattern[str], FailureKind, str], ...] = (
    (re.compile(r"api[- _]?key|unauthori[sz]ed|permission|invalid account|forbidden", re.I),
     FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    (re.compile(r"credit|balance|used up|insufficient|subscri", re.I),
     FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"),
    (re.compile(r"concurren|rate limit|too many|too frequent", re.I),
     FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    (re.compile(r"moderat|sensitive|inappropriate|violat|nsfw|not allowed", re.I),
     FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    (re.compile(r"param|binding|invalid|not support|unsupported|format|size|length|exceed|not found|template",
                re.I),
     FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"),
)

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
NegativePrompt = Annotated[str, msgspec.Meta(max_length=2048)]
Quality = Literal["360p", "540p", "720p", "1080p"]
Seed = Annotated[int, msgspec.Meta(ge=0, le=2147483647)]


class _PixverseVideo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    negative_prompt: NegativePrompt | None = None
    duration: Literal[5, 8] = 5
    quality: Quality = "540p"
    motion_mode: Literal["normal", "fast"] | None = None
    seed: Seed | None = None

    def __post_init__(self) -> None:
        if self.quality == "1080p" and (self.duration == 8 or self.motion_mode == "fast"):
            raise ValueError("1080p supports neither 8-second videos nor the fast motion mode")
        if self.motion_mode == "fast" and self.duration != 5:
            raise ValueError("the fast motion mode allows 5-second videos only")


class PixverseTextToVideoParams(_PixverseVideo, frozen=True, kw_only=True, forbid_unknown_fields=True):
    aspect_ratio: Literal["16:9", "4:3", "1:1", "3:4", "9:16"] = "16:9"


class PixverseVideoParams(_PixverseVideo, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Image-to-video, transition and extend: the shape follows the inputs."""


class PixverseModels(msgspec.Struct, frozen=True, kw_only=True):
    text_to_video: str = "v4.5"
    image_to_video: str = "v4.5"
    video_transition: str = "v4.5"
    video_extend: str = "v4.5"


_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)

PIXVERSE_INFO = ProviderInfo(
    id=PIXVERSE_PROVIDER_ID,
    name="PixVerse",
    operations=(
        OperationSpec(operation_type=OperationType.TEXT_TO_VIDEO, params_type=PixverseTextToVideoParams,
                      price=_PER_SECOND),
        OperationSpec(operation_type=OperationType.IMAGE_TO_VIDEO, params_type=PixverseVideoParams,
                      price=_PER_SECOND, min_inputs=1, max_inputs=1),
        OperationSpec(operation_type=OperationType.VIDEO_TRANSITION, params_type=PixverseVideoParams,
                      price=_PER_SECOND, min_inputs=2, max_inputs=2),
        OperationSpec(operation_type=OperationType.VIDEO_EXTEND, params_type=PixverseVideoParams,
                      price=_PER_SECOND, min_inputs=1, max_inputs=1),
    ),
    upload_ttl_seconds=int(UPLOAD_TTL.total_seconds()),
)

_ENDPOINTS = {
    OperationType.TEXT_TO_VIDEO: "/openapi/v2/video/text/generate",
    OperationType.IMAGE_TO_VIDEO: "/openapi/v2/video/img/generate",
    OperationType.VIDEO_TRANSITION: "/openapi/v2/video/transition/generate",
    OperationType.VIDEO_EXTEND: "/openapi/v2/video/extend/generate",
}


def err_code_failure(code: Any, message: Any) -> ProviderFailure:
    """The failure class of an ErrCode != 0 answer."""
    text = f"ErrCode {code}: {message or 'no ErrMsg'}"
    if code == CONCURRENCY_LIMIT:
        return failure(FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", text)
    for pattern, kind, failure_code in _MESSAGE_CLASSES:
        if pattern.search(str(message or "")):
            return failure(kind, failure_code, text)
    return failure(FailureKind.TRANSIENT, "PIXVERSE_ERROR", text)


def _error_text(body: Mapping[str, Any], response: httpx.Response) -> str:
    code = body.get("ErrCode")
    return f"ErrCode {code}: {body.get('ErrMsg')}" if code is not None else ""


def _refined(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """An error status refined by the ErrCode it carries."""
    code, message = answer.body.get("ErrCode"), answer.body.get("ErrMsg")
    specific = err_code_failure(code, message) if isinstance(code, int) and code else None
    # a 4xx carrying e.g. an out-of-credit ErrCode says more than its status code
    if classified.kind is FailureKind.INVALID and specific is not None \
            and specific.kind is not FailureKind.TRANSIENT:
        return specific
    return classified


PIXVERSE_ERRORS = ErrorMapping(text=_error_text, refine=_refined)


def unwrapped(response: httpx.Response) -> Result[dict[str, Any], ProviderFailure]:
    """`Resp` of an answer below 400; the typed failure of an ErrCode or of a malformed body."""
    decoded = json_object(response)
    if isinstance(decoded, Failure):
        return Failure(decoded.failure())
    body = decoded.unwrap()
    code, message = body.get("ErrCode"), body.get("ErrMsg")
    if not isinstance(code, int) or isinstance(code, bool):
        return Failure(malformed("a PixVerse answer without a numeric ErrCode"))
    if code != 0:
        return Failure(err_code_failure(code, message))
    resp = body.get("Resp")
    if not isinstance(resp, dict):
        return Failure(malformed("a PixVerse answer without a Resp object"))
    return Success(resp)


def video_status(resp: Mapping[str, Any]) -> Result[RemoteStatus, ProviderFailure]:
    """A video result (GET answer's Resp, or a webhook body) as a RemoteStatus."""
    status = resp.get("status")
    return VIDEO_STATUS.read(status, resp, lambda: _succeeded(resp, f"status {status}"), shown=f"status {status}")


def _succeeded(resp: Mapping[str, Any], raw: str) -> Result[RemoteStatus, ProviderFailure]:
    video_id, url = resp.get("id"), resp.get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        return Failure(malformed("a successful PixVerse video without a URL"))
    return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status=raw, progress=1.0, outputs=(
        ProviderOutput(url=url, mime_type="video/mp4", provider_asset_id=str(video_id)),)))


def canonical_payload(body: Mapping[str, Any]) -> str:
    """The signed form of a webhook body (see the module docstring: an assumption)."""
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return ""
        if isinstance(value, dict | list):
            return msgspec.json.encode(value).decode()
        return str(value)

    return urlencode([(key, text(body[key])) for key in sorted(body)])


def webhook_signature(secret: str, timestamp: str, nonce: str, body: Mapping[str, Any]) -> str:
    signed = f"{timestamp}\n{nonce}\n{canonical_payload(body)}".encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def _invalid(code: str, message: str) -> Failure[ProviderFailure]:
    return Failure(failure(FailureKind.INVALID, code, message))


def _parsed_asset_id(ref: InputRef) -> tuple[str, int] | None:
    match = _ASSET_ID.fullmatch(ref.provider_asset_id or "")
    return (match.group(1), int(match.group(2))) if match else None


class PixverseProvider:
    """ProviderClient and WebhookVerifier for PixVerse."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = PIXVERSE_API,
                 models: PixverseModels | None = None, webhook_secret: str | None = None,
                 trace_ids: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._api = ApiClient(client, base_url, key_header("API-KEY"), PIXVERSE_ERRORS,
                              headers=lambda: {"Ai-trace-id": self._trace_ids()}, decode=unwrapped)
        self._downloader = downloader
        self._clock = clock
        self._models = models or PixverseModels()
        self._webhook_secret = webhook_secret
        self._trace_ids = trace_ids

    @property
    def info(self) -> ProviderInfo:
        return PIXVERSE_INFO

    def _body(self, operation: OperationType, params: msgspec.Struct,
              inputs: tuple[InputRef, ...]) -> dict[str, Any] | ProviderFailure:
        body = {key: value for key, value in msgspec.to_builtins(params).items() if value is not None}
        body["model"] = getattr(self._models, operation.value)
        ids = [_parsed_asset_id(ref) for ref in inputs]
        if any(parsed is None for parsed in ids):
            return failure(FailureKind.INVALID, "INVALID_INPUTS", "PixVerse inputs must be uploaded to PixVerse first")
        kinds = [parsed[0] for parsed in ids if parsed is not None]
        numbers = [parsed[1] for parsed in ids if parsed is not None]
        if operation in (OperationType.IMAGE_TO_VIDEO, OperationType.VIDEO_TRANSITION) \
                and any(kind != "img" for kind in kinds):
            return failure(FailureKind.INVALID, "INVALID_INPUTS", f"{operation} takes images")
        if operation is OperationType.IMAGE_TO_VIDEO:
            body["img_id"] = numbers[0]
        elif operation is OperationType.VIDEO_TRANSITION:
            body["first_frame_img_id"], body["last_frame_img_id"] = numbers
        elif operation is OperationType.VIDEO_EXTEND:
            if kinds[0] == "img":
                return failure(FailureKind.INVALID, "INVALID_INPUTS", "video_extend takes a video")
            body["source_video_id" if kinds[0] == "video" else "video_media_id"] = numbers[0]
        return body

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        default = getattr(self._models, request.operation_type.value, "")
        checked = model_request(PIXVERSE_INFO, request, default)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        _, params = checked.unwrap()
        body = self._body(request.operation_type, params, request.inputs)
        if isinstance(body, ProviderFailure):
            return Failure(body)
        body["model"] = request.model or default
        created = await self._api.send(secret, "POST", _ENDPOINTS[request.operation_type], json=body)
        if isinstance(created, Failure):
            return Failure(created.failure())
        video_id = created.unwrap().get("video_id")
        if not isinstance(video_id, int) or isinstance(video_id, bool) or video_id <= 0:
            return Failure(malformed("the PixVerse answer has no video_id"))
        return Success(str(video_id))

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return Success(None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _VIDEO_ID.fullmatch(provider_job_id):
            return invalid_job_id("a PixVerse video id", provider_job_id)
        return (await self._api.send(secret, "GET", f"/openapi/v2/video/result/{provider_job_id}")).bind(video_status)

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        """PixVerse documents no way to cancel a generation."""

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        expires_at = now + UPLOAD_TTL
        if asset.media_type is MediaType.IMAGE:
            if asset.size_bytes >= MAX_IMAGE_BYTES:
                return _invalid("INPUT_TOO_LARGE", "PixVerse takes images under 20 MB")
            return await self._upload_file(secret, asset, chunks, "/openapi/v2/image/upload", "image",
                                           "img_id", "img", expires_at)
        if asset.media_type is not MediaType.VIDEO:
            return _invalid("UNSUPPORTED_INPUT", f"PixVerse takes no {asset.media_type} inputs")
        if asset.provider_id == PIXVERSE_PROVIDER_ID and _VIDEO_ID.fullmatch(asset.provider_asset_id or ""):
            # a video PixVerse made is referenced by its id, not uploaded again
            return Success(UploadedInput(provider_asset_id=f"video:{asset.provider_asset_id}", expires_at=expires_at))
        return await self._upload_file(secret, asset, chunks, "/openapi/v2/media/upload", "file",
                                       "media_id", "media", expires_at)

    async def _upload_file(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes], path: str,
                           field: str, id_key: str, prefix: str, expires_at: datetime
                           ) -> Result[UploadedInput, ProviderFailure]:
        filename = asset.original_filename or f"{asset.sha256[:16]}.{asset.mime_type.rsplit('/', 1)[-1]}"
        # multipart needs a re-readable body: spool to a temporary file rather than memory
        with tempfile.TemporaryFile() as spool:
            async for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            uploaded = await self._api.send(secret, "POST", path, files={field: (filename, spool, asset.mime_type)})
        if isinstance(uploaded, Failure):
            return Failure(uploaded.failure())
        number = uploaded.unwrap().get(id_key)
        if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
            return Failure(malformed(f"the PixVerse upload answer has no {id_key}"))
        return Success(UploadedInput(provider_asset_id=f"{prefix}:{number}", expires_at=expires_at))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._downloader.stream(output.url)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime
                       ) -> Result[WebhookEvent, DomainError]:
        if not self._webhook_secret:
            return Failure(unauthenticated("PixVerse webhooks are not configured here"))
        timestamp, nonce = header(headers, "webhook-timestamp"), header(headers, "webhook-nonce")
        signature = header(headers, "webhook-signature")
        if not timestamp or not nonce or not signature:
            return Failure(unauthenticated("missing webhook signature headers"))
        if not timestamp.isdigit():
            return Failure(unauthenticated("malformed webhook timestamp"))
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(now - sent_at) > WEBHOOK_TOLERANCE:
            return Failure(unauthenticated("webhook timestamp outside the 5 minute tolerance"))
        try:
            payload = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return Failure(unauthenticated("the webhook body is not JSON"))
        if not isinstance(payload, dict):
            return Failure(unauthenticated("the webhook body is not an object"))
        expected = webhook_signature(self._webhook_secret, timestamp, nonce, payload)
        if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
            return Failure(unauthenticated("invalid webhook signature"))
        video_id = str(payload.get("id"))
        if not _VIDEO_ID.fullmatch(video_id):
            return Failure(validation("the webhook body names no PixVerse video"))
        status = video_status(payload).value_or(None)
        return Success(WebhookEvent(webhook_id=nonce, provider_job_id=video_id, sent_at=sent_at, status=status))
