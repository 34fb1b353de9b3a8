"""Kling AI, directly through its official API ("Kling AI API Specification",
https://app.klingai.com/global/dev/document-api; base https://api-singapore.klingai.com, which the
docs name as the replacement of https://api.klingai.com; either is set with the provider URL
override).

Auth (docs "General Information"): an account is an access key and a secret key (a structured
secret, domain/account_secrets.py: `{"access_key", "secret_key"}`). Every request carries
`Authorization: Bearer <JWT>`, a JWT signed HS256 with the secret key, header `{"alg": "HS256",
"typ": "JWT"}`, claims `iss` = access key, `exp` = now + 1800 s, `nbf` = now - 5 s (the docs'
own sample). A fresh token per request, from the injected clock (api_client.jwt_bearer).

Documented endpoints used:
- POST /v1/videos/text2video `{model_name, prompt, negative_prompt?, cfg_scale?, mode ("std" |
  "pro"), aspect_ratio ("16:9" | "9:16" | "1:1"), duration ("5" | "10", a string),
  external_task_id}`; POST /v1/videos/image2video `{model_name, image, prompt?, negative_prompt?,
  cfg_scale?, mode, duration, external_task_id}` where `image` is a URL Kling fetches. Both answer
  `{code, message, request_id, data: {task_id, task_status, task_info: {external_task_id},
  created_at, updated_at}}`. `model_name` is the job's catalog model (adapters/models/kling.py;
  default kling-v1-6, which does both operations in std and pro, 5 and 10 s); with the default
  model it may still be given as a param, the enum being the documented one per endpoint.
  `cfg_scale` is refused with kling-v2* models (the docs: not supported on v2.x).
- GET /v1/videos/text2video/{id} and /v1/videos/image2video/{id}: `data.task_status` submitted ->
  QUEUED, processing -> RUNNING, succeed -> SUCCEEDED with `data.task_result.videos[].url`
  (each `{id, url, duration}`), failed -> FAILED with `task_status_msg`: content risk control /
  moderation wording -> MODERATED (CONTENT_MODERATED), anything else TRANSIENT. Generated videos
  "will be cleared after 30 days": a task that succeeded more than 29 days ago (`created_at`, ms)
  is FAILED with OUTPUT_EXPIRED (TRANSIENT), generated again rather than failing on a dead link.
  The provider job id is kept as `<text2video|image2video>:<task_id>`, so a poll goes back to the
  endpoint that created the task.
- `external_task_id` ("customized task ID ... unique within a single user account ... can be used
  for task queries", the same {id} path parameter as task_id): we send our submission reference,
  and `find()` looks it up on both endpoints, so `finds_by_reference=True`. A second submit with the
  same reference is refused by Kling's uniqueness rule rather than billed twice.
- Errors (docs "Error Code"): HTTP status plus a business `code` in the body, which decides first:
  1000-1004 (token rejected), 1100 (account exception), 1103 (no access to the API/model) and 1304
  (IP whitelist) -> AUTH; 1101 (arrears) and 1102 (resource pack depleted or expired) -> CREDITS;
  1200/1201 (invalid parameters), 1202/1203 (method/resource does not exist) -> INVALID; 1300
  (platform policy) -> INVALID, KLING_PLATFORM_POLICY; 1301 (content security policy) -> MODERATED;
  1302 (rate limit) and 1303 ("parallel task over resource pack limit", the concurrency limit) ->
  RATE_LIMITED with Retry-After when sent; 5000-5002 -> TRANSIENT. Without a known code the HTTP
  status decides (httpio.classify_status). A non-zero `code` under HTTP 200 is still an error.

ASSUMED (not in the pages we could read): how an unknown task id is answered. A lookup answered
code 1203 ("the requested resource does not exist"), a bare 404, or code 1200/1201 whose message
says "not found"/"not exist" is JOB_NOT_FOUND, which `find()` reads as "never taken"; any other
failure of a lookup is a failure, never a guess.

Not used: `callback_url` (Kling's callbacks are not signed, so there is no `verify_webhook`; polling
finishes jobs), camera_control, image_tail, motion masks, video extension, effects, lip sync and
the omni/3.0 endpoints. Kling has no cancel endpoint (`cancel()` does nothing) and no upload
endpoint: an image input needs a public URL (`upload()` answers INVALID, INPUT_URL_REQUIRED).
Prices in pixrelay credits: 1 per started second of video (`duration`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

import httpx
import msgspec
from returns.result import Failure, Result, Success

from adapters.providers.api_client import (
    ApiClient,
    Decode,
    ErrorAnswer,
    ErrorMapping,
    StatusWords,
    hs256_jwt,
    jwt_bearer,
)
from adapters.providers.httpio import (
    SafeDownloader,
    failure,
    json_object,
    malformed,
    retry_after_seconds,
)
from adapters.providers.model_request import model_request
from domain.account_secrets import secret_fields
from domain.accounts import FailureKind
from domain.assets import Asset
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

KLING_PROVIDER_ID = "kling"
KLING_API = "https://api-singapore.klingai.com"
SECRET_FIELDS = ("access_key", "secret_key")
TOKEN_TTL_SECONDS = 1800
NOT_BEFORE_SLACK_SECONDS = 5
OUTPUT_TTL = timedelta(days=29)  # results are cleared after 30 days
DEFAULT_MODEL: Final = "kling-v1-6"
JOB_NOT_FOUND = "JOB_NOT_FOUND"

_ENDPOINTS = {OperationType.TEXT_TO_VIDEO: "text2video", OperationType.IMAGE_TO_VIDEO: "image2video"}
_TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_JOB_ID = re.compile(r"(text2video|image2video):([A-Za-z0-9_-]{1,128})")
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MODERATION = re.compile(r"risk|moderat|safety|sensitive|violat|polic|inappropriate|nsfw", re.IGNORECASE)
_NOT_FOUND = re.compile(r"not (?:be )?found|not exist", re.IGNORECASE)

_AUTH, _CREDITS, _INVALID = FailureKind.AUTH, FailureKind.CREDITS, FailureKind.INVALID
_CODES: dict[int, tuple[FailureKind, str]] = {
    **dict.fromkeys((1000, 1001, 1002, 1003, 1004, 1100, 1103, 1304), (_AUTH, "PROVIDER_AUTH_REJECTED")),
    **dict.fromkeys((1101, 1102), (_CREDITS, "PROVIDER_OUT_OF_CREDITS")),
    **dict.fromkeys((1200, 1201, 1202, 1203), (_INVALID, "PROVIDER_REJECTED_REQUEST")),
    1300: (_INVALID, "KLING_PLATFORM_POLICY"),
    1301: (FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    **dict.fromkeys((1302, 1303), (FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED")),
    **dict.fromkeys((5000, 5001, 5002), (FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE")),
}

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=2500)]
NegativePrompt = Annotated[str, msgspec.Meta(max_length=2500)]
CfgScale = Annotated[float, msgspec.Meta(ge=0, le=1, description="prompt adherence; not with kling-v2* models")]
TextModel = Literal["kling-v1", "kling-v1-6", "kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo"]
ImageModel = Literal["kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-1-master",
                     "kling-v2-5-turbo"]


class _KlingVideo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    negative_prompt: NegativePrompt | None = None
    cfg_scale: CfgScale | None = None
    mode: Literal["std", "pro"] = "std"
    duration: Literal[5, 10] = 5

    def __post_init__(self) -> None:
        model = getattr(self, "model_name", DEFAULT_MODEL)
        if self.cfg_scale is not None and model.startswith("kling-v2"):
            raise ValueError(f"{model} does not take cfg_scale")


class KlingTextToVideoParams(_KlingVideo, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    model_name: TextModel = DEFAULT_MODEL
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"


class KlingImageToVideoParams(_KlingVideo, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt | None = None
    model_name: ImageModel = DEFAULT_MODEL


_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)

KLING_INFO = ProviderInfo(
    id=KLING_PROVIDER_ID,
    name="Kling AI",
    operations=(
        OperationSpec(operation_type=OperationType.TEXT_TO_VIDEO, params_type=KlingTextToVideoParams,
                      price=_PER_SECOND),
        OperationSpec(operation_type=OperationType.IMAGE_TO_VIDEO, params_type=KlingImageToVideoParams,
                      price=_PER_SECOND, min_inputs=1, max_inputs=1),
    ),
    finds_by_reference=True,
    secret_fields=SECRET_FIELDS,
)


# ---------------------------------------------------------------- wire mapping (pure)


def token_claims(access_key: str, now: datetime) -> dict[str, Any]:
    """The claims of the docs' "API Authentication" sample."""
    issued = int(now.timestamp())
    return {"iss": access_key, "exp": issued + TOKEN_TTL_SECONDS, "nbf": issued - NOT_BEFORE_SLACK_SECONDS}


def api_token(access_key: str, secret_key: str, now: datetime) -> str:
    """The short-lived bearer token of the docs' "API Authentication" sample."""
    return hs256_jwt(token_claims(access_key, now), secret_key)


def account_keys(secret: str) -> tuple[str, str] | ProviderFailure:
    """(access key, secret key) of an account's structured secret; AUTH when it is not one."""
    fields = secret_fields(secret) or {}
    access_key, secret_key = fields.get("access_key"), fields.get("secret_key")
    if not access_key or not secret_key:
        return failure(FailureKind.AUTH, "PROVIDER_AUTH_REJECTED",
                       "the account's secret is not a Kling access_key and secret_key pair")
    return access_key, secret_key


def _image_url(ref: InputRef) -> str | None:
    if ref.url:
        return ref.url
    return ref.provider_asset_id if (ref.provider_asset_id or "").startswith("https://") else None


def submit_body(operation: OperationType, params: msgspec.Struct | Mapping[str, Any], inputs: tuple[InputRef, ...],
                reference: str) -> dict[str, Any] | ProviderFailure:
    """The create-task body: the typed params as Kling spells them, plus our reference."""
    if not _REFERENCE.fullmatch(reference):
        return failure(FailureKind.INVALID, "INVALID_REFERENCE", f"not a usable external_task_id: {reference!r}")
    body: dict[str, Any] = {key: value for key, value in msgspec.to_builtins(params).items() if value is not None}
    body["duration"] = str(body.get("duration", 5))
    if operation is OperationType.IMAGE_TO_VIDEO:
        image = _image_url(inputs[0])
        if image is None:
            return failure(FailureKind.INVALID, "INPUT_URL_REQUIRED", "Kling takes image inputs as public URLs only")
        body["image"] = image
    body["external_task_id"] = reference
    return body


def _code_of(body: Mapping[str, Any]) -> int | None:
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    return int(code) if isinstance(code, str) and code.isdigit() else None


def _error_text(body: Mapping[str, Any], response: httpx.Response) -> str:
    code = _code_of(body)
    message = str(body.get("message") or response.text[:300])
    return f"{response.status_code} code {code}: {message}" if code is not None else f"{response.status_code}: {message}"


def _by_code(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """The business `code` decides first; without a known one, the HTTP status (`classified`)."""
    code = _code_of(answer.body)
    if code not in _CODES:
        return classified
    kind, name = _CODES[code]
    retry = retry_after_seconds(answer.response) if kind is FailureKind.RATE_LIMITED else None
    return failure(kind, name, answer.text, retry)


def _looked_up(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    """As _by_code, but a query's unknown task is JOB_NOT_FOUND."""
    code = _code_of(answer.body)
    if code == 1203 or (answer.response.status_code == 404 and code is None) \
            or (code in (1200, 1201) and _NOT_FOUND.search(answer.text)):
        return failure(FailureKind.INVALID, JOB_NOT_FOUND, answer.text)
    return _by_code(classified, answer)


KLING_ERRORS = ErrorMapping(text=_error_text, refine=_by_code)
KLING_LOOKUP_ERRORS = ErrorMapping(text=_error_text, refine=_looked_up)


def task_answer(errors: ErrorMapping) -> Decode:
    """The `data` of an answer below 400; a non-zero `code` under such a status is an error too."""
    def decode(response: httpx.Response) -> Result[dict[str, Any], ProviderFailure]:
        body = json_object(response).value_or({})
        if response.is_success and _code_of(body) in (None, 0):
            return json_object(response).bind(task_data)
        text = errors.text(body, response)
        return Failure(errors.refine(malformed(f"Kling answered {text}"), ErrorAnswer(response, body, text)))

    return decode


def task_data(body: Mapping[str, Any]) -> Result[dict[str, Any], ProviderFailure]:
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("task_id"), str) or not _TASK_ID.fullmatch(data["task_id"]):
        return Failure(malformed("a Kling answer without a usable data.task_id"))
    return Success(data)


def failed_task(message: Any) -> ProviderFailure:
    text = str(message) if message else "the task failed without a message"
    if _MODERATION.search(text):
        return failure(FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, text)
    return failure(FailureKind.TRANSIENT, "KLING_TASK_FAILED", text)


def _created_at(raw: Any) -> datetime | None:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
        return None
    try:
        return datetime.fromtimestamp(raw / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


TASK_STATUS = StatusWords("Kling task status", {
    "submitted": RemoteState.QUEUED, "processing": RemoteState.RUNNING, "succeed": RemoteState.SUCCEEDED,
    "failed": lambda data: failed_task(data.get("task_status_msg")),
})


def task_status(data: Mapping[str, Any], now: datetime) -> Result[RemoteStatus, ProviderFailure]:
    return TASK_STATUS.read(data.get("task_status"), data, lambda: _succeeded(data, now))


def _succeeded(data: Mapping[str, Any], now: datetime) -> Result[RemoteStatus, ProviderFailure]:
    raw = "succeed"
    result = data.get("task_result")
    videos = result.get("videos") if isinstance(result, dict) else None
    found = [video for video in videos if isinstance(video, dict) and isinstance(video.get("url"), str)
             and video["url"].startswith("https://")] if isinstance(videos, list) else []
    if not found:
        return Failure(malformed("a succeeded Kling task without video URLs"))
    created = _created_at(data.get("created_at"))
    if created is not None and now - created > OUTPUT_TTL:
        return Success(RemoteStatus(state=RemoteState.FAILED, raw_status=raw, failure=failure(
            FailureKind.TRANSIENT, "OUTPUT_EXPIRED", "Kling clears generated videos after 30 days")))
    outputs = tuple(ProviderOutput(url=video["url"], mime_type="video/mp4",
                                   provider_asset_id=str(video.get("id") or f"{data.get('task_id')}/{n}"))
                    for n, video in enumerate(found))
    return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status=raw, outputs=outputs, progress=1.0))


def found_task(data: Mapping[str, Any], reference: str) -> str | None:
    """The task id of a lookup by external_task_id, unless the task is someone else's."""
    info = data.get("task_info")
    external = info.get("external_task_id") if isinstance(info, dict) else None
    return str(data["task_id"]) if external in (None, "", reference) else None


# ---------------------------------------------------------------- the client


class KlingProvider:
    """ProviderClient for Kling AI's official video API."""

    def __init__(self, client: httpx.AsyncClient, downloader: SafeDownloader, *,
                 clock: Callable[[], datetime], base_url: str = KLING_API) -> None:
        self._downloader = downloader
        self._clock = clock
        self._api = ApiClient(client, base_url, jwt_bearer(account_keys, token_claims, clock), KLING_ERRORS,
                              decode=task_answer(KLING_ERRORS))
        self._lookups = replace(self._api, errors=KLING_LOOKUP_ERRORS, decode=task_answer(KLING_LOOKUP_ERRORS))

    @property
    def info(self) -> ProviderInfo:
        return KLING_INFO

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        checked = model_request(KLING_INFO, request, DEFAULT_MODEL)
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        _, params = checked.unwrap()
        body = submit_body(request.operation_type, params, request.inputs, request.reference)
        if isinstance(body, ProviderFailure):
            return Failure(body)
        if request.model is not None and request.model != DEFAULT_MODEL:
            body["model_name"] = request.model
        endpoint = _ENDPOINTS[request.operation_type]
        created = await self._api.send(secret, "POST", f"/v1/videos/{endpoint}", json=body)
        return created.map(lambda data: f"{endpoint}:{data['task_id']}")

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        if not _REFERENCE.fullmatch(reference):
            return Success(None)  # submit never sends such a reference
        for endpoint in _ENDPOINTS.values():
            answered = await self._lookups.send(secret, "GET", f"/v1/videos/{endpoint}/{reference}")
            if isinstance(answered, Failure):
                if answered.failure().code == JOB_NOT_FOUND:
                    continue
                return Failure(answered.failure())
            task_id = found_task(answered.unwrap(), reference)
            if task_id is not None:
                return Success(f"{endpoint}:{task_id}")
        return Success(None)

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        match = _JOB_ID.fullmatch(provider_job_id)
        if match is None:
            return Failure(failure(FailureKind.INVALID, "INVALID_JOB_ID",
                                   f"not a Kling job id: {provider_job_id[:100]!r}"))
        endpoint, task_id = match.groups()
        answered = await self._lookups.send(secret, "GET", f"/v1/videos/{endpoint}/{task_id}")
        return answered.bind(lambda data: task_status(data, self._clock()))

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        return None  # Kling documents no cancellation

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        return Failure(failure(FailureKind.INVALID, "INPUT_URL_REQUIRED",
                               "Kling has no upload endpoint: inputs need a public URL"))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._downloader.stream(output.url)
