"""Replicate, through its predictions HTTP API (https://replicate.com/docs/reference/http).

Documented endpoints used:
- `models.predictions.create`: POST /v1/models/{owner}/{name}/predictions `{"input": ...}` for an
  official model; `predictions.create`: POST /v1/predictions `{"version": id, "input": ...}` for a
  model pinned as "owner/name:version". With a configured webhook URL the body also carries
  `webhook` and `webhook_events_filter: ["completed"]` (docs "Webhooks").
- `predictions.get`: GET /v1/predictions/{id}. Statuses (docs "Prediction lifecycle"):
  starting, processing -> RUNNING; succeeded -> SUCCEEDED, outputs from `output`, a URL or a
  list of URLs; failed -> FAILED, MODERATED (CONTENT_MODERATED) when `error` speaks of NSFW,
  safety, content policy or flagged content, else TRANSIENT; canceled -> CANCELLED; aborted
  (its deadline passed before it started) -> FAILED, TRANSIENT.
- `predictions.cancel`: POST /v1/predictions/{id}/cancel.
- `files.create`: POST /v1/files, multipart field `content`. The answer's `urls.get` is what a
  model input takes; it is usable until the answer's `expires_at` (24 h assumed when absent).
- Webhooks are signed the Standard Webhooks way: HMAC-SHA256 over
  "{webhook-id}.{webhook-timestamp}.{body}" keyed with the base64 after `whsec_` (the secret of
  GET /v1/webhooks/default/secret), sent as `webhook-signature: v1,<base64> [v1,<base64> ...]`.
  Timestamps more than 5 minutes away are refused. The body is the prediction object.

Errors are problem+json bodies (`title`, `detail`): 401/403 AUTH, 402 ("insufficient credit")
CREDITS, 429 RATE_LIMITED with Retry-After, 5xx TRANSIENT, 4xx INVALID; an unknown prediction
id is INVALID with code JOB_NOT_FOUND.

Not used: `find()` answers Success(None) because predictions cannot be looked up by a client
reference; sync mode (`Prefer: wait`), deployments, streaming and trainings are not used.

Prices, in credits where 1 credit is about US$0.01 (Replicate's list prices when written,
rounded up; override with `prices=`): flux-schnell 1 per image, flux-kontext-pro 4 per image,
kling-v1.6-standard 5 per started second, topazlabs image-upscale 5 per job. The params of each
operation are the default model's own input names, so a replacement model given in `models=`
must take the same inputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import mimetypes
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    guess_mime,
    header,
    invalid_job_id,
    malformed,
)
from adapters.providers.model_request import input_fields, model_request
from domain.accounts import FailureKind
from domain.assets import Asset
from domain.errors import DomainError, ErrorCode, unauthenticated, validation
from domain.jobs import OperationType
from domain.ports import UploadedInput
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

REPLICATE_PROVIDER_ID = "replicate"
REPLICATE_API = "https://api.replicate.com/v1"
UPLOAD_TTL = timedelta(hours=24)
WEBHOOK_TOLERANCE = timedelta(minutes=5)

_PREDICTION_ID = re.compile(r"[A-Za-z0-9]{1,100}")
_MODERATION = re.compile(r"nsfw|safety|content polic|flagged|sensitive|moderat", re.IGNORECASE)

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Seed = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
AspectRatio = Literal["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]


class FluxSchnellParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """black-forest-labs/flux-schnell inputs."""

    prompt: Prompt
    num_outputs: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1
    aspect_ratio: AspectRatio = "1:1"
    output_format: Literal["webp", "jpg", "png"] = "webp"
    num_inference_steps: Annotated[int, msgspec.Meta(ge=1, le=4)] = 4
    seed: Seed | None = None


class FluxKontextParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """black-forest-labs/flux-kontext-pro inputs (the image goes in `input_image`)."""

    prompt: Prompt
    aspect_ratio: Literal["match_input_image", "1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4",
                          "3:4", "4:3", "9:16", "9:21"] = "match_input_image"
    output_format: Literal["jpg", "png"] = "png"
    seed: Seed | None = None


class KlingParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """kwaivgi/kling-v1.6-standard inputs (an image, if any, goes in `start_image`)."""

    prompt: Prompt
    duration: Literal[5, 10] = 5
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] = ""
    cfg_scale: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5


class UpscaleParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """topazlabs/image-upscale inputs (the image goes in `image`)."""

    upscale_factor: Literal["2x", "4x"] = "2x"


@dataclass(frozen=True)
class Route:
    """How one operation runs on Replicate: which model, its params, price and image inputs."""

    model: str
    params: type[msgspec.Struct]
    price: PriceRule
    input_fields: tuple[str, ...] = ()


DEFAULT_ROUTES: dict[OperationType, Route] = {
    OperationType.TEXT_TO_IMAGE: Route(
        "black-forest-labs/flux-schnell", FluxSchnellParams,
        PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE, quantity_param="num_outputs")),
    OperationType.IMAGE_TO_IMAGE: Route(
        "black-forest-labs/flux-kontext-pro", FluxKontextParams,
        PriceRule(credits_per_unit=4, unit=PriceUnit.IMAGE), ("input_image",)),
    OperationType.TEXT_TO_VIDEO: Route(
        "kwaivgi/kling-v1.6-standard", KlingParams,
        PriceRule(credits_per_unit=5, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)),
    OperationType.IMAGE_TO_VIDEO: Route(
        "kwaivgi/kling-v1.6-standard", KlingParams,
        PriceRule(credits_per_unit=5, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5),
        ("start_image",)),
    OperationType.UPSCALE: Route(
        "topazlabs/image-upscale", UpscaleParams, PriceRule(credits_per_unit=5, unit=PriceUnit.JOB), ("image",)),
}


def _problem(body: Mapping[str, Any], response: httpx.Response) -> str:
    """`title: detail` of a problem+json answer, else the start of the body."""
    parts = [str(body[key]) for key in ("title", "detail") if body.get(key)]
    return ": ".join(parts) if parts else response.text[:300]


def _rejected(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    return job_not_found(classified) if answer.response.status_code == 404 else classified


REPLICATE_ERRORS = ErrorMapping(text=_problem, refine=_rejected)


def _output_urls(output: Any) -> list[str]:
    items = output if isinstance(output, list) else [output]
    return [item for item in items if isinstance(item, str) and item.startswith(("https://", "http://"))]


def failed_prediction(error: Any) -> ProviderFailure:
    text = str(error) if error else "the prediction failed without an error message"
    if _MODERATION.search(text):
        return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, text)
    return failure(FailureKind.TRANSIENT, "PROVIDER_JOB_FAILED", text)


PREDICTION_STATUS = StatusWords("prediction status", {
    "starting": RemoteState.RUNNING, "processing": RemoteState.RUNNING, "succeeded": RemoteState.SUCCEEDED,
    "canceled": RemoteState.CANCELLED,
    "failed": lambda body: failed_prediction(body.get("error")),
    "aborted": lambda _: failure(FailureKind.TRANSIENT, "PROVIDER_ABORTED",
                                 "the prediction passed its deadline before it started"),
})


def prediction_status(body: Mapping[str, Any]) -> Result[RemoteStatus, ProviderFailure]:
    """A prediction object (GET answer or webhook body) as a RemoteStatus."""
    return PREDICTION_STATUS.read(body.get("status"), body, lambda: _succeeded(body))


def _succeeded(body: Mapping[str, Any]) -> Result[RemoteStatus, ProviderFailure]:
    raw = "succeeded"
    urls = _output_urls(body.get("output"))
    if not urls:
        return Success(RemoteStatus(state=RemoteState.FAILED, raw_status=raw, failure=failure(
            FailureKind.TRANSIENT, "PROVIDER_NO_OUTPUT",
            "the prediction succeeded without an output URL (data removed?)")))
    outputs = tuple(ProviderOutput(url=url, mime_type=guess_mime(url), provider_asset_id=f"{body.get('id')}/{n}")
                    for n, url in enumerate(urls))
    return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status=raw, outputs=outputs, progress=1.0))


def _timestamp(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def webhook_key(signing_secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` signing secret; ValueError when it is not one."""
    prefix, _, encoded = signing_secret.partition("_")
    if prefix != "whsec" or not encoded:
        raise ValueError("a Replicate webhook signing secret looks like whsec_<base64>")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise ValueError("the Replicate webhook signing secret is not valid base64") from error


def _signature_matches(signatures: str, expected: bytes) -> bool:
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(given, expected):
            return True
    return False


class ReplicateProvider:
    """ProviderClient and WebhookVerifier for Replicate."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = REPLICATE_API,
                 models: Mapping[OperationType, str] | None = None,
                 prices: Mapping[OperationType, PriceRule] | None = None,
                 webhook_url: str | None = None, webhook_secret: str | None = None) -> None:
        self._api = ApiClient(client, base_url, bearer, REPLICATE_ERRORS)
        self._downloader = downloader
        self._clock = clock
        self._webhook_url = webhook_url
        self._webhook_key = webhook_key(webhook_secret) if webhook_secret else None
        self._routes = {
            operation: Route((models or {}).get(operation, route.model), route.params,
                             (prices or {}).get(operation, route.price), route.input_fields)
            for operation, route in DEFAULT_ROUTES.items()
        }
        self._info = ProviderInfo(
            id=REPLICATE_PROVIDER_ID, name="Replicate",
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
        checked = model_request(self._info, request, route.model if route else "")
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        assert route is not None  # the operation was checked
        fields = input_fields(request, route.input_fields)
        if isinstance(fields, Failure):
            return Failure(fields.failure())
        _, params = checked.unwrap()
        model_input = {key: value for key, value in msgspec.to_builtins(params).items() if value is not None}
        for field, ref in zip(fields.unwrap(), request.inputs, strict=True):
            model_input[field] = ref.provider_asset_id or ref.url
        body: dict[str, Any] = {"input": model_input}
        if self._webhook_url:
            body |= {"webhook": self._webhook_url, "webhook_events_filter": ["completed"]}
        model, _, version = (request.model or route.model).partition(":")
        if version:
            path = "/predictions"
            body["version"] = version
        else:
            path = f"/models/{model}/predictions"
        created = await self._api.send(secret, "POST", path, json=body)
        return created_id(created, "id", _PREDICTION_ID, "created prediction")

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        return Success(None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if not _PREDICTION_ID.fullmatch(provider_job_id):
            return invalid_job_id("a Replicate prediction id", provider_job_id)
        return (await self._api.send(secret, "GET", f"/predictions/{provider_job_id}")).bind(prediction_status)

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        if _PREDICTION_ID.fullmatch(provider_job_id):
            await self._api.call(secret, "POST", f"/predictions/{provider_job_id}/cancel")

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        filename = asset.original_filename or f"{asset.sha256[:16]}{mimetypes.guess_extension(asset.mime_type) or ''}"
        # multipart needs a re-readable body: spool to a temporary file rather than memory
        with tempfile.TemporaryFile() as spool:
            async for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            created = await self._api.send(secret, "POST", "/files",
                                           files={"content": (filename, spool, asset.mime_type)})
        if isinstance(created, Failure):
            return Failure(created.failure())
        body = created.unwrap()
        urls = body.get("urls")
        url = urls.get("get") if isinstance(urls, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            return Failure(malformed("the uploaded file has no urls.get"))
        expires_at = _timestamp(body.get("expires_at")) or now + UPLOAD_TTL
        return Success(UploadedInput(provider_asset_id=url, expires_at=expires_at))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._downloader.stream(output.url)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime
                       ) -> Result[WebhookEvent, DomainError]:
        if self._webhook_key is None:
            return Failure(unauthenticated("Replicate webhooks are not configured here"))
        webhook_id = header(headers, "webhook-id")
        timestamp = header(headers, "webhook-timestamp")
        signatures = header(headers, "webhook-signature")
        if not webhook_id or not timestamp or not signatures:
            return Failure(unauthenticated("missing webhook signature headers"))
        if not timestamp.isdigit():
            return Failure(unauthenticated("malformed webhook timestamp"))
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(now - sent_at) > WEBHOOK_TOLERANCE:
            return Failure(unauthenticated("webhook timestamp outside the 5 minute tolerance"))
        expected = hmac.new(self._webhook_key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        if not _signature_matches(signatures, expected):
            return Failure(unauthenticated("invalid webhook signature"))
        try:
            prediction = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return Failure(validation("the webhook body is not JSON"))
        prediction_id = prediction.get("id") if isinstance(prediction, dict) else None
        if not isinstance(prediction_id, str) or not _PREDICTION_ID.fullmatch(prediction_id):
            return Failure(validation("the webhook body is not a prediction"))
        status = prediction_status(prediction).value_or(None)
        return Success(WebhookEvent(webhook_id=webhook_id, provider_job_id=prediction_id, sent_at=sent_at,
                                    status=status))

