"""fal, through its queue API (https://fal.ai/docs/documentation/model-apis/inference/queue).

Documented endpoints used (base https://queue.fal.run, `Authorization: Key <key>`):
- POST /{endpoint}: submit; the answer's `request_id` is the provider job id. With a configured
  webhook URL, `?fal_webhook=<url>` is added (docs "Webhooks").
- GET /{owner}/{app}/requests/{id}/status: IN_QUEUE -> QUEUED, IN_PROGRESS -> RUNNING,
  COMPLETED -> the result is fetched. A COMPLETED status carrying `error`/`error_type` fails at once.
- GET /{owner}/{app}/requests/{id}: the result. 2xx: outputs from `images[]`, `image`, `video`
  (images flagged in `has_nsfw_concepts` are dropped; all flagged -> MODERATED). Error answers
  (docs "Model errors", "Request errors"): a `detail[]` entry of type content_policy_violation
  -> MODERATED (CONTENT_MODERATED); other 400/422 -> INVALID; `error_type` (body or
  X-Fal-Error-Type) client_cancelled -> CANCELLED, bad_request -> INVALID, any other
  (timeouts, runner failures) -> TRANSIENT.
- PUT /{owner}/{app}/requests/{id}/cancel.
- Storage, as the official fal-client (1.x) does it: POST
  https://rest.fal.ai/storage/upload/initiate?storage_type=gcs
  `{"content_type", "file_name"}` -> `{"upload_url", "file_url"}`, then PUT the bytes to
  `upload_url` (checked like an output URL: https, public address). The file is asked to live
  24 h with the documented `X-Fal-Object-Lifecycle-Preference` header.
- Webhooks: ED25519 signature (hex, `X-Fal-Webhook-Signature`) over
  "{request id}\\n{user id}\\n{timestamp}\\n{sha256 hex of the body}" from the
  X-Fal-Webhook-Request-Id / -User-Id / -Timestamp headers, checked against fal's published
  keys (JWKS at https://rest.alpha.fal.ai/.well-known/jwks.json, `{"keys": [{"kty": "OKP",
  "crv": "Ed25519", "x": base64url}]}`) and the configured keys. The JWKS is fetched in the
  background when a webhook arrives and the cached copy is missing or older than 24 h (fal's own
  verification sample caches it as long), so fal can rotate keys; a failed fetch keeps the last
  good copy, and the configured keys always count (the fallback when fal is unreachable). A
  webhook that arrives before the first fetch finished and matches no configured key is refused;
  fal redelivers it, and polling finds the result anyway. `jwks_url=None` turns fetching off.
  Timestamps more than 5 minutes away are refused. Body: `{"request_id", "status": "OK"|"ERROR", "payload", "error"}`.

Status, result and cancel URLs take only the owner and app of an endpoint (fal-ai/flux for
fal-ai/flux/schnell), and the webhook only names the request id. So the provider job id is the
bare request id; the app it runs under is remembered in-process, and after a restart the few
apps of the configured endpoints are tried in turn (a 404 means "not this app").

HTTP errors: 401/403 AUTH (403 "Exhausted balance" -> CREDITS), 402 CREDITS, 429 RATE_LIMITED
with Retry-After, 5xx TRANSIENT, 404 JOB_NOT_FOUND, other 4xx INVALID. `find()` answers
Success(None): the queue cannot be searched by a client reference.

Prices, in credits where 1 credit is about US$0.01 (fal's list prices when written, rounded up;
override with `prices=`): flux/schnell 1 per image, flux/dev image-to-image 3 per image,
kling-video v1.6 standard 5 per started second, clarity-upscaler 5 per job. The params are the
default endpoint's own inputs, so a replacement endpoint in `endpoints=` must take the same.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import mimetypes
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from returns.result import Failure, Result, Success

from adapters.providers.api_client import ApiClient, ErrorAnswer, ErrorMapping, job_not_found, scheme
from adapters.providers.httpio import (
    SafeDownloader,
    call,
    classify_status,
    failure,
    guess_mime,
    header,
    invalid_job_id,
    json_object,
    malformed,
    redact,
)
from adapters.providers.model_request import input_fields, model_request
from domain.accounts import FailureKind
from domain.assets import Asset
from domain.errors import DomainError, ErrorCode, unauthenticated, validation
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
    WebhookEvent,
)

FAL_PROVIDER_ID = "fal"
FAL_QUEUE = "https://queue.fal.run"
FAL_REST = "https://rest.fal.ai"
FAL_JWKS = "https://rest.alpha.fal.ai/.well-known/jwks.json"
JWKS_TTL = timedelta(hours=24)
UPLOAD_TTL = timedelta(hours=24)
WEBHOOK_TOLERANCE = timedelta(minutes=5)
MAX_REMEMBERED = 10_000
JOB_NOT_FOUND = "JOB_NOT_FOUND"

_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,100}")

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Seed = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
ImageSize = Literal["square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"]
NumImages = Annotated[int, msgspec.Meta(ge=1, le=4)]


class FluxSchnellParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/flux/schnell inputs."""

    prompt: Prompt
    image_size: ImageSize = "landscape_4_3"
    num_inference_steps: Annotated[int, msgspec.Meta(ge=1, le=12)] = 4
    num_images: NumImages = 1
    seed: Seed | None = None


class FluxImageToImageParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/flux/dev/image-to-image inputs (the image goes in `image_url`)."""

    prompt: Prompt
    strength: Annotated[float, msgspec.Meta(ge=0.01, le=1)] = 0.95
    num_inference_steps: Annotated[int, msgspec.Meta(ge=1, le=50)] = 40
    guidance_scale: Annotated[float, msgspec.Meta(ge=1, le=20)] = 3.5
    num_images: NumImages = 1
    seed: Seed | None = None


class KlingTextParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/kling-video/v1.6/standard/text-to-video inputs (`duration` is sent as "5"/"10")."""

    prompt: Prompt
    duration: Literal[5, 10] = 5
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] = "blur, distort, and low quality"
    cfg_scale: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5


class KlingImageParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/kling-video/v1.6/standard/image-to-video inputs (the image goes in `image_url`)."""

    prompt: Prompt
    duration: Literal[5, 10] = 5
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] = "blur, distort, and low quality"
    cfg_scale: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5


class ClarityUpscaleParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/clarity-upscaler inputs (the image goes in `image_url`)."""

    upscale_factor: Annotated[float, msgspec.Meta(ge=1, le=4)] = 2
    prompt: Annotated[str, msgspec.Meta(max_length=2000)] = "masterpiece, best quality, highres"
    creativity: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.35
    resemblance: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.6
    seed: Seed | None = None


def _as_is(model_input: dict[str, Any]) -> dict[str, Any]:
    return model_input


def _duration_as_text(model_input: dict[str, Any]) -> dict[str, Any]:
    # priced per second from an int; kling on fal wants the enum string
    return model_input | {"duration": str(model_input["duration"])}


@dataclass(frozen=True)
class Route:
    """How one operation runs on fal: which endpoint, its params, price and image inputs."""

    endpoint: str
    params: type[msgspec.Struct]
    price: PriceRule
    input_fields: tuple[str, ...] = ()
    encode: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_as_is)

    @property
    def app(self) -> str:
        return app_of(self.endpoint)


def app_of(endpoint: str) -> str:
    """The owner/app part of an endpoint id, which the status, result and cancel URLs take."""
    return "/".join(endpoint.split("/")[:2])


_PER_VIDEO_SECOND = PriceRule(credits_per_unit=5, unit=PriceUnit.SECOND, quantity_param="duration",
                              default_quantity=5)

DEFAULT_ROUTES: dict[OperationType, Route] = {
    OperationType.TEXT_TO_IMAGE: Route(
        "fal-ai/flux/schnell", FluxSchnellParams,
        PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE, quantity_param="num_images")),
    OperationType.IMAGE_TO_IMAGE: Route(
        "fal-ai/flux/dev/image-to-image", FluxImageToImageParams,
        PriceRule(credits_per_unit=3, unit=PriceUnit.IMAGE, quantity_param="num_images"), ("image_url",)),
    OperationType.TEXT_TO_VIDEO: Route(
        "fal-ai/kling-video/v1.6/standard/text-to-video", KlingTextParams, _PER_VIDEO_SECOND,
        encode=_duration_as_text),
    OperationType.IMAGE_TO_VIDEO: Route(
        "fal-ai/kling-video/v1.6/standard/image-to-video", KlingImageParams, _PER_VIDEO_SECOND, ("image_url",),
        encode=_duration_as_text),
    OperationType.UPSCALE: Route(
        "fal-ai/clarity-upscaler", ClarityUpscaleParams, PriceRule(credits_per_unit=5, unit=PriceUnit.JOB),
        ("image_url",)),
}


def public_key(encoded: str) -> Ed25519PublicKey:
    """An ED25519 public key from 64 hex digits or (url-safe) base64 of its 32 raw bytes."""
    text = encoded.strip()
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise ValueError("a fal webhook key is an ED25519 public key: 32 bytes in hex or base64")
    return Ed25519PublicKey.from_public_bytes(raw)


def _details(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    detail = body.get("detail")
    return [entry for entry in detail if isinstance(entry, dict)] if isinstance(detail, list) else []


def _detail_text(body: Mapping[str, Any], fallback: str) -> str:
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    messages = [str(entry.get("msg")) for entry in _details(body) if entry.get("msg")]
    return "; ".join(messages) if messages else fallback


def _moderated(body: Mapping[str, Any]) -> bool:
    return any(entry.get("type") == "content_policy_violation" for entry in _details(body))


def _moderation(text: str) -> ProviderFailure:
    return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, text)


def _error_text(body: Mapping[str, Any], response: httpx.Response) -> str:
    return _detail_text(body, response.text[:300])


def _rejected(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """The failure class of an error answer, refined by its fal body."""
    status, text = answer.response.status_code, answer.text
    if status == 404:
        return job_not_found(classified)
    if status == 403 and re.search(r"balance|locked", text, re.IGNORECASE):
        return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", classified.message)
    if status in (400, 422) and _moderated(answer.body):
        return _moderation(text)
    return classified


FAL_ERRORS = ErrorMapping(text=_error_text, refine=_rejected)


def _request_error(error_type: str, text: str, raw: str) -> RemoteStatus:
    """A finished request that fal reports with an infrastructure `error_type`."""
    if error_type == "client_cancelled":
        return RemoteStatus(state=RemoteState.CANCELLED, raw_status=raw)
    kind = FailureKind.INVALID if error_type == "bad_request" else FailureKind.TRANSIENT
    return RemoteStatus(state=RemoteState.FAILED, raw_status=raw,
                        failure=failure(kind, "FAL_" + re.sub(r"[^A-Z0-9]+", "_", error_type.upper())[:60], text))


def _files(payload: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], bool]]:
    """Every output file of a result payload, with whether fal flagged it as NSFW."""
    flags = payload.get("has_nsfw_concepts")
    images = payload.get("images")
    found: list[tuple[Mapping[str, Any], bool]] = []
    if isinstance(images, list):
        for n, image in enumerate(images):
            flagged = isinstance(flags, list) and n < len(flags) and flags[n] is True
            if isinstance(image, dict):
                found.append((image, flagged))
    for key in ("image", "video"):
        single = payload.get(key)
        if isinstance(single, dict):
            found.append((single, False))
    return found


def result_status(payload: Mapping[str, Any], request_id: str, raw: str = "COMPLETED") -> RemoteStatus:
    """A successful result payload as a RemoteStatus."""
    files = _files(payload)
    kept = [file for file, flagged in files if not flagged]
    if files and not kept:
        return RemoteStatus(state=RemoteState.FAILED, raw_status=raw,
                            failure=_moderation("every output was flagged by fal's safety checker"))
    outputs = []
    for n, file in enumerate(kept):
        url = file.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            mime = file.get("content_type")
            outputs.append(ProviderOutput(url=url, mime_type=mime if isinstance(mime, str) else guess_mime(url),
                                          provider_asset_id=f"{request_id}/{n}"))
    if not outputs:
        return RemoteStatus(state=RemoteState.FAILED, raw_status=raw, failure=failure(
            FailureKind.TRANSIENT, "PROVIDER_NO_OUTPUT", "the request completed without an output URL"))
    return RemoteStatus(state=RemoteState.SUCCEEDED, raw_status=raw, outputs=tuple(outputs), progress=1.0)


def _result_error(response: httpx.Response) -> Result[RemoteStatus, ProviderFailure]:
    """A result fetch answered with an error: the request failed there, or our call did."""
    body = json_object(response).value_or({})
    text = _detail_text(body, response.text[:300])
    error_type = response.headers.get("x-fal-error-type") or body.get("error_type")
    if isinstance(error_type, str) and error_type:
        return Success(_request_error(error_type, text, "COMPLETED"))
    if response.status_code in (400, 422):
        failed = _moderation(text) if _moderated(body) else failure(
            FailureKind.INVALID, "PROVIDER_REJECTED_INPUT", f"{response.status_code}: {text}")
        return Success(RemoteStatus(state=RemoteState.FAILED, raw_status="COMPLETED", failure=failed))
    rejected = FAL_ERRORS.rejected(response)
    return Failure(rejected or malformed(f"unexpected result answer {response.status_code}"))


class _Remembered:
    """Which app each recent request id runs under (bounded; a hint, not a source of truth)."""

    def __init__(self) -> None:
        self._apps: OrderedDict[str, str] = OrderedDict()

    def put(self, request_id: str, app: str) -> None:
        self._apps[request_id] = app
        self._apps.move_to_end(request_id)
        while len(self._apps) > MAX_REMEMBERED:
            self._apps.popitem(last=False)

    def get(self, request_id: str) -> str | None:
        return self._apps.get(request_id)


class FalProvider:
    """ProviderClient and WebhookVerifier for fal's queue."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = FAL_QUEUE, rest_url: str = FAL_REST,
                 endpoints: Mapping[OperationType, str] | None = None,
                 prices: Mapping[OperationType, PriceRule] | None = None,
                 webhook_url: str | None = None, webhook_keys: Iterable[str] = (),
                 jwks_url: str | None = FAL_JWKS, endpoints_offered: Iterable[str] = ()) -> None:
        self._client = client
        self._api = ApiClient(client, base_url, scheme("Key"), FAL_ERRORS)
        self._downloader = downloader
        self._clock = clock
        self._storage = ApiClient(client, rest_url, scheme("Key"), FAL_ERRORS)
        self._webhook_url = webhook_url
        self._webhook_keys = [public_key(key) for key in webhook_keys]
        self._jwks_url = jwks_url
        self._jwks_keys: list[Ed25519PublicKey] = []
        self._jwks_fetched_at: datetime | None = None
        self._jwks_refresh: asyncio.Task[None] | None = None
        self._routes = {
            operation: Route((endpoints or {}).get(operation, route.endpoint), route.params,
                             (prices or {}).get(operation, route.price), route.input_fields, route.encode)
            for operation, route in DEFAULT_ROUTES.items()
        }
        # the apps a request's status is asked of (the catalog's models' too: endpoints_offered)
        self._apps = list(dict.fromkeys([*(route.app for route in self._routes.values()),
                                         *(app_of(endpoint) for endpoint in endpoints_offered)]))
        self._remembered = _Remembered()
        self._info = ProviderInfo(
            id=FAL_PROVIDER_ID, name="fal",
            operations=tuple(OperationSpec(operation_type=operation, params_type=route.params, price=route.price,
                                           min_inputs=len(route.input_fields), max_inputs=len(route.input_fields))
                             for operation, route in self._routes.items()),
            upload_ttl_seconds=int(UPLOAD_TTL.total_seconds()),
        )

    @property
    def info(self) -> ProviderInfo:
        return self._info

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        route = self._routes.get(request.operation_type)
        checked = model_request(self._info, request, route.endpoint if route else "")
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        assert route is not None  # the operation was checked
        fields = input_fields(request, route.input_fields)
        if isinstance(fields, Failure):
            return Failure(fields.failure())
        _, params = checked.unwrap()
        model_input = {key: value for key, value in msgspec.to_builtins(params).items() if value is not None}
        for name, ref in zip(fields.unwrap(), request.inputs, strict=True):
            model_input[name] = ref.provider_asset_id or ref.url
        endpoint = request.model or route.endpoint
        # another model's params are its own, as the catalog checked them: no re-encoding
        body = route.encode(model_input) if endpoint == route.endpoint else model_input
        query = {"fal_webhook": self._webhook_url} if self._webhook_url else None
        queued = await self._api.send(secret, "POST", f"/{endpoint}", json=body, params=query)
        if isinstance(queued, Failure):
            return Failure(queued.failure())
        request_id = queued.unwrap().get("request_id")
        if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
            return Failure(malformed("the queued request has no usable request_id"))
        self._remembered.put(request_id, app_of(endpoint))
        if app_of(endpoint) not in self._apps:  # where its status is asked, after the others
            self._apps.append(app_of(endpoint))
        return Success(request_id)

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return Success(None)

    def _apps_for(self, request_id: str) -> list[str]:
        hint = self._remembered.get(request_id)
        return [hint, *(app for app in self._apps if app != hint)] if hint else list(self._apps)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _REQUEST_ID.fullmatch(provider_job_id):
            return invalid_job_id("a fal request id", provider_job_id)
        for app in self._apps_for(provider_job_id):
            answered = await self._api.send(secret, "GET", f"/{app}/requests/{provider_job_id}/status")
            if isinstance(answered, Failure):
                if answered.failure().code == JOB_NOT_FOUND:
                    continue
                return Failure(answered.failure())
            self._remembered.put(provider_job_id, app)
            return await self._status_of(secret, app, provider_job_id, answered.unwrap())
        return Failure(failure(FailureKind.INVALID, JOB_NOT_FOUND,
                               f"no fal request {provider_job_id} under {', '.join(self._apps)}"))

    async def _status_of(self, secret: str, app: str, request_id: str, body: Mapping[str, Any]
                         ) -> Result[RemoteStatus, ProviderFailure]:
        raw = body.get("status")
        if raw == "IN_QUEUE":
            return Success(RemoteStatus(state=RemoteState.QUEUED, raw_status=raw))
        if raw == "IN_PROGRESS":
            return Success(RemoteStatus(state=RemoteState.RUNNING, raw_status=raw))
        if raw != "COMPLETED":
            return Failure(malformed(f"unknown fal request status {raw!r}"))
        error_type, error = body.get("error_type"), body.get("error")
        if error_type or error:
            return Success(_request_error(str(error_type or "request_failed"), str(error or error_type), raw))
        answered = await self._api.call(secret, "GET", f"/{app}/requests/{request_id}")
        if isinstance(answered, Failure):
            return Failure(answered.failure())
        response = answered.unwrap()
        if response.status_code >= 400:
            return _result_error(response).alt(lambda rejected: redact(rejected, secret))
        payload = json_object(response)
        if isinstance(payload, Failure):
            return Failure(payload.failure())
        return Success(result_status(payload.unwrap(), request_id))

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        if not _REQUEST_ID.fullmatch(provider_job_id):
            return
        for app in self._apps_for(provider_job_id):
            answered = await self._api.send(secret, "PUT", f"/{app}/requests/{provider_job_id}/cancel")
            if not (isinstance(answered, Failure) and answered.failure().code == JOB_NOT_FOUND):
                return

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        filename = asset.original_filename or f"{asset.sha256[:16]}{mimetypes.guess_extension(asset.mime_type) or ''}"
        lifecycle = json.dumps({"expiration_duration_seconds": int(UPLOAD_TTL.total_seconds())})
        initiated = await self._storage.send(secret, "POST", "/storage/upload/initiate",
                                             params={"storage_type": "gcs"},
                                             json={"content_type": asset.mime_type, "file_name": filename},
                                             headers={"X-Fal-Object-Lifecycle-Preference": lifecycle})
        if isinstance(initiated, Failure):
            return Failure(initiated.failure())
        body = initiated.unwrap()
        upload_url, file_url = body.get("upload_url"), body.get("file_url")
        if not isinstance(upload_url, str) or not isinstance(file_url, str) or not file_url.startswith("https://"):
            return Failure(malformed("the upload was not given an upload_url and a file_url"))
        try:
            await self._downloader.check(upload_url)
        except OutputUnavailable as error:
            return Failure(failure(FailureKind.TRANSIENT, "PROVIDER_UPLOAD_REFUSED", str(error)))
        # a presigned URL: the bytes stream there without our key
        put = await call(self._client, "PUT", upload_url, content=chunks,
                         headers={"Content-Type": asset.mime_type, "Content-Length": str(asset.size_bytes)})
        if isinstance(put, Failure):
            return Failure(put.failure())
        rejected = classify_status(put.unwrap())
        if rejected is not None:  # a presigned URL said no: nothing to blame the key for
            kind = FailureKind.RATE_LIMITED if rejected.kind is FailureKind.RATE_LIMITED else FailureKind.TRANSIENT
            return Failure(failure(kind, "PROVIDER_UPLOAD_FAILED", rejected.message, rejected.retry_after_seconds))
        return Success(UploadedInput(provider_asset_id=file_url, expires_at=now + UPLOAD_TTL))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._downloader.stream(output.url)

    async def refresh_webhook_keys(self) -> None:
        """Fetch fal's JWKS once; the last good copy stays when the fetch or its keys fail."""
        if self._jwks_url is None:
            return
        answered = await call(self._client, "GET", self._jwks_url, headers={"Accept": "application/json"})
        if isinstance(answered, Failure) or answered.unwrap().status_code != 200:
            return
        document = json_object(answered.unwrap()).value_or({})
        entries = document.get("keys")
        keys = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("kty") == "OKP" and entry.get("crv") == "Ed25519" \
                    and isinstance(entry.get("x"), str):
                try:
                    keys.append(public_key(entry["x"]))
                except ValueError:
                    continue
        if keys:
            self._jwks_keys = keys
            self._jwks_fetched_at = self._clock()

    def _refresh_in_background(self) -> None:
        stale = self._jwks_fetched_at is None or self._clock() - self._jwks_fetched_at > JWKS_TTL
        if self._jwks_url is None or not stale or (self._jwks_refresh and not self._jwks_refresh.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._jwks_refresh = loop.create_task(self.refresh_webhook_keys())

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime
                       ) -> Result[WebhookEvent, DomainError]:
        self._refresh_in_background()
        keys = [*self._jwks_keys, *self._webhook_keys]
        if not keys:
            if self._jwks_url is None:
                return Failure(unauthenticated("fal webhooks are not configured here"))
            return Failure(unauthenticated("fal's webhook keys are not fetched yet"))
        request_id = header(headers, "x-fal-webhook-request-id")
        user_id = header(headers, "x-fal-webhook-user-id")
        timestamp = header(headers, "x-fal-webhook-timestamp")
        signature_hex = header(headers, "x-fal-webhook-signature")
        if not request_id or not user_id or not timestamp or not signature_hex:
            return Failure(unauthenticated("missing webhook signature headers"))
        if not timestamp.isdigit():
            return Failure(unauthenticated("malformed webhook timestamp"))
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(now - sent_at) > WEBHOOK_TOLERANCE:
            return Failure(unauthenticated("webhook timestamp outside the 5 minute tolerance"))
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            return Failure(unauthenticated("malformed webhook signature"))
        message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()
        if not any(_verifies(key, signature, message) for key in keys):
            return Failure(unauthenticated("invalid webhook signature"))
        try:
            event = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return Failure(validation("the webhook body is not JSON"))
        if not isinstance(event, dict) or event.get("request_id") != request_id:
            return Failure(validation("the webhook body does not match its signed request id"))
        return Success(WebhookEvent(webhook_id=f"{request_id}@{timestamp}", provider_job_id=request_id,
                                    sent_at=sent_at, status=_webhook_status(event, request_id)))


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _webhook_status(event: Mapping[str, Any], request_id: str) -> RemoteStatus | None:
    """What the webhook says about the request, when it says enough; else polling decides."""
    payload = event.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    if event.get("status") == "OK":
        return result_status(payload, request_id, "OK") if payload else None
    if event.get("status") != "ERROR":
        return None
    text = _detail_text(payload, str(event.get("error") or "the request failed"))
    if _moderated(payload):
        return RemoteStatus(state=RemoteState.FAILED, raw_status="ERROR", failure=_moderation(text))
    error_type = payload.get("error_type")
    return _request_error(error_type, text, "ERROR") if isinstance(error_type, str) and error_type else None
