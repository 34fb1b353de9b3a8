"""OpenAI-compatible image routes under /openai/v1: an OpenAI client changes only its base_url.

Every call is an ordinary pixrelay job (RunImagesCall), waited for up to
PIXRELAY_OPENAI_WAIT_SECONDS. Answers and errors are in OpenAI's shapes: every failure the
API can give (the route's own, the guard's, Litestar's) is turned from its problem into
`{"error": {"message", "type", "code", "param"}}` with OpenAI's statuses (400 for a request
pixrelay would call 422). An `url` is the asset's content route, fetched with the same
bearer credential (docs/DECISIONS.md, "OpenAI-compatible endpoints").
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Encoding,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.types import ExceptionHandlersMap

from application.assets.upload import UploadAsset
from application.auth.authenticate import Principal
from application.openai_compat.images import ImagesOutcome, RunImagesCall
from application.openai_compat.models import CATALOG_CREATED
from application.policy import AssetPolicy, OpenAICompatPolicy, WebhookPolicy
from domain.api_keys import Scope
from domain.assets import SNIFFED_MIME_TYPES, MediaType
from domain.errors import DomainError, ErrorCode, forbidden, validation
from domain.jobs import JobStatus
from entrypoints.http.deps import BEARER_SECURITY, container_of, require_user, uses
from entrypoints.http.errors import EXCEPTION_HANDLERS, Problem, ProblemException, ok
from entrypoints.http.multipart import boundary_of, capped, open_upload, too_large
from entrypoints.http.schemas_openai import (
    ErrorDetail,
    ErrorOut,
    ImageData,
    ImageGenerationIn,
    ImagesResponse,
    ModelList,
    ModelOut,
)

IMAGE_FIELD = "image"
EDIT_TEXT_FIELDS = frozenset({
    "prompt", "model", "n", "size", "quality", "response_format", "user", "background", "output_format",
    "output_compression", "input_fidelity", "moderation", "style", "pixrelay_params"})
MAX_EDIT_TEXT = 32 * 1024  # a prompt may be 32000 characters
FORM_OVERHEAD = len(EDIT_TEXT_FIELDS) * (MAX_EDIT_TEXT + 512)
JOB_HEADER = "X-Pixrelay-Job-Id"
FIELD_IN_ERROR = re.compile(r"(?:at `\$\.|required field `)(\w+)")
NO_RETRY = {"x-should-retry": "false"}  # the OpenAI client would otherwise retry and start another job
IDEMPOTENCY = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", min_length=1, max_length=255, description="the same key and body give the same job back")]

# OpenAI's error `type` and `code` for pixrelay's codes (the rest: invalid_request_error, the code lowercased).
ERROR_TYPES: dict[str, str] = {
    ErrorCode.INSUFFICIENT_CREDITS: "insufficient_quota", ErrorCode.QUOTA_EXCEEDED: "insufficient_quota",
    ErrorCode.RATE_LIMITED: "requests", ErrorCode.SERVICE_UNAVAILABLE: "server_error",
}
ERROR_CODES: dict[str, str] = {
    ErrorCode.UNAUTHENTICATED: "invalid_api_key", ErrorCode.INSUFFICIENT_CREDITS: "insufficient_quota",
    ErrorCode.QUOTA_EXCEEDED: "insufficient_quota", ErrorCode.RATE_LIMITED: "rate_limit_exceeded",
    ErrorCode.VALIDATION_ERROR: "invalid_value", ErrorCode.CONTENT_MODERATED: "content_policy_violation",
}


def error_response(status: int, message: str, code: str | None, *, param: str | None = None,
                   type_: str | None = None, headers: dict[str, str] | None = None) -> Response[ErrorOut]:
    kind = type_ or ("server_error" if status >= 500 else "invalid_request_error")
    return Response(ErrorOut(error=ErrorDetail(message=message, type=kind, code=code, param=param)),
                    status_code=status, headers=headers or {})


def from_problem(response: Response[Any]) -> Response[Any]:
    """A problem response in OpenAI's error shape (its status, 422 -> 400, and headers kept)."""
    problem = response.content
    if not isinstance(problem, Problem):
        return response
    status = 400 if problem.status == 422 else problem.status
    code = ERROR_CODES.get(problem.code, problem.code.lower())
    if problem.code == ErrorCode.NOT_FOUND and problem.field == "model":
        code = "model_not_found"
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    named = FIELD_IN_ERROR.search(problem.detail) if problem.field is None else None
    return error_response(status, problem.detail, code, param=named.group(1) if named else problem.field,
                          type_=ERROR_TYPES.get(problem.code), headers=headers)


def _in_openai_shape(handler: Callable[[Request[Any, Any, Any], Any], Response[Any]]) -> Callable[..., Response[Any]]:
    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        return from_problem(handler(request, exc))

    return handle


# The app's own handlers, each answer converted: one error table for both shapes.
OPENAI_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    kind: _in_openai_shape(handler) for kind, handler in EXCEPTION_HANDLERS.items()
}


def openai_errors(*statuses: int) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(data_container=ErrorOut, description="An error in OpenAI's shape",
                                 generate_examples=False) for status in statuses}


IMAGE_RESPONSES = {200: ResponseSpec(data_container=ImagesResponse, description="The images", generate_examples=False),
                   **openai_errors(400, 401, 402, 403, 404, 409, 413, 415, 429, 502, 503, 504)}


def outcome_response(request: Request[Any, Any, Any], outcome: ImagesOutcome, response_format: str | None,
                     wait_seconds: float) -> Response[Any]:
    job = outcome.job
    headers = {JOB_HEADER: job.id}
    if job.status is JobStatus.COMPLETED:
        created = int((job.completed_at or job.created_at).timestamp())
        if response_format == "b64_json":
            data = [ImageData(b64_json=base64.b64encode(image.data or b"").decode()) for image in outcome.images]
        else:
            base = content_base(request)
            data = [ImageData(url=f"{base}/v1/assets/{image.asset.id}/content") for image in outcome.images]
        return Response(ImagesResponse(created=created, data=data), status_code=200, headers=headers)
    headers |= NO_RETRY
    if job.status is JobStatus.FAILED:
        message = f"job {job.id} failed: {job.error_message or job.error_code}"
        if job.error_code == ErrorCode.CONTENT_MODERATED:
            return error_response(400, message, "content_policy_violation", headers=headers)
        return error_response(502, message, (job.error_code or "job_failed").lower(), headers=headers)
    if job.status is JobStatus.CANCELLED:
        return error_response(409, f"job {job.id} was cancelled", "job_cancelled", headers=headers)
    return error_response(
        504, f"job {job.id} is still {job.status} after {wait_seconds:g} s; it goes on: "
        f"follow it at GET /v1/jobs/{job.id}", "job_still_running", headers=headers)


def content_base(request: Request[Any, Any, Any]) -> str:
    """Where clients reach this API: PIXRELAY_PUBLIC_URL, else the request's own base URL."""
    public_url = container_of(request).resolve(WebhookPolicy).public_url
    return (public_url or str(request.base_url)).rstrip("/")


def wait_seconds_of(request: Request[Any, Any, Any]) -> float:
    policy: OpenAICompatPolicy = container_of(request).resolve(OpenAICompatPolicy)
    return policy.wait_seconds


@post("/images/generations", operation_id="openaiCreateImage", status_code=200, summary="Generate images (OpenAI)",
      dependencies=uses(run_images=RunImagesCall), responses=IMAGE_RESPONSES, description=(
          "OpenAI's `POST /v1/images/generations`, as an ordinary pixrelay job.\n\n"
          "- `model`: an id of GET /openai/v1/models (or an alias); unknown is 404 `model_not_found`.\n"
          "- `n`, `size`, `quality` map to the model's provider params; what it cannot honour is a 400 "
          "naming the parameter. `user` is accepted and not used.\n"
          "- The call waits for the job up to PIXRELAY_OPENAI_WAIT_SECONDS; then 504 naming the job "
          "(it goes on: GET /v1/jobs/{id}). Every answer about a job names it in X-Pixrelay-Job-Id.\n"
          "- `url`: the asset's content route, fetched with the same bearer credential; "
          "`b64_json`: the bytes."))
async def generate(request: Request[Any, Any, Any], data: JSONBody[ImageGenerationIn],
                   principal: NamedDependency[Principal], run_images: NamedDependency[RunImagesCall],
                   idempotency_key: IDEMPOTENCY = None) -> Response[Any]:
    outcome = ok(await run_images(principal, data.model, data.ask(), inline=data.response_format == "b64_json",
                                  idempotency_key=idempotency_key))
    return outcome_response(request, outcome, data.response_format, wait_seconds_of(request))


@dataclass
class EditOperation(Operation):
    """The form the edit route streams itself (so Litestar cannot describe it)."""

    def __post_init__(self) -> None:
        text = Schema(type=OpenAPIType.STRING, max_length=MAX_EDIT_TEXT)
        properties: dict[str, Any] = {name: text for name in sorted(EDIT_TEXT_FIELDS)}
        properties |= {
            IMAGE_FIELD: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
            "prompt": Schema(type=OpenAPIType.STRING, min_length=1, max_length=32000),
            "n": Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=10),
            "response_format": Schema(type=OpenAPIType.STRING, enum=["url", "b64_json"]),
            "pixrelay_params": Schema(type=OpenAPIType.STRING, max_length=MAX_EDIT_TEXT,
                                      description="a JSON object of provider params (pixrelay extension)"),
        }
        self.request_body = RequestBody(required=True, content={
            RequestEncodingType.MULTI_PART: OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT, required=[IMAGE_FIELD, "prompt", "model"], additional_properties=False,
                properties=properties),
                encoding={IMAGE_FIELD: Encoding(content_type=", ".join(
                    m for m in SNIFFED_MIME_TYPES if m.startswith("image/")))})})


@post("/images/edits", operation_id="openaiEditImage", status_code=200, summary="Edit an image (OpenAI)",
      operation_class=EditOperation, request_max_body_size=None,
      dependencies=uses(run_images=RunImagesCall, upload_asset=UploadAsset), responses=IMAGE_RESPONSES, description=(
          "OpenAI's `POST /v1/images/edits` (multipart: `image` and `prompt`, plus `model`, `n`, `size`, "
          "`response_format`, ...), as an ordinary pixrelay job.\n\n"
          "- The image is uploaded as one of the caller's assets (POST /v1/assets' rules) and is the "
          "job's input; an API key needs `assets:write` besides `jobs:write`. `mask` is not supported.\n"
          "- Otherwise as POST /openai/v1/images/generations."))
async def edit(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
               run_images: NamedDependency[RunImagesCall], upload_asset: NamedDependency[UploadAsset],
               idempotency_key: IDEMPOTENCY = None) -> Response[Any]:
    if not principal.allows(Scope.ASSETS_WRITE):
        raise ProblemException(forbidden(f"this API key lacks the scope {Scope.ASSETS_WRITE.value!r}"))
    policy: AssetPolicy = container_of(request).resolve(AssetPolicy)
    limit = policy.limits.image_bytes + FORM_OVERHEAD
    if (request.content_length or 0) > limit:
        raise too_large(limit)
    boundary = boundary_of(request.headers.get("content-type", ""), IMAGE_FIELD)
    form = await open_upload(capped(request.stream(), limit), boundary, IMAGE_FIELD, EDIT_TEXT_FIELDS, MAX_EDIT_TEXT)
    uploaded = ok(await upload_asset(principal, form.chunks, form.filename))
    if uploaded.asset.media_type is not MediaType.IMAGE:
        raise ProblemException(validation(f"image must be an image, not {uploaded.asset.mime_type}", IMAGE_FIELD))
    data = edit_fields(form.fields)
    outcome = ok(await run_images(principal, data.model, data.ask(edit=True), input_asset_id=uploaded.asset.id,
                                  inline=data.response_format == "b64_json", idempotency_key=idempotency_key))
    return outcome_response(request, outcome, data.response_format, wait_seconds_of(request))


def edit_fields(fields: dict[str, str]) -> ImageGenerationIn:
    """The form's text fields as the generation body (numbers from their text)."""
    document: dict[str, Any] = dict(fields)
    if "pixrelay_params" in document:
        try:
            document["pixrelay_params"] = msgspec.json.decode(document["pixrelay_params"])
        except msgspec.DecodeError:
            raise ProblemException(validation("pixrelay_params must be a JSON object", "pixrelay_params")) from None
    try:
        return msgspec.convert(document, ImageGenerationIn, strict=False)
    except msgspec.ValidationError as error:
        found = FIELD_IN_ERROR.search(str(error))
        field = found.group(1) if found else None
        raise ProblemException(validation(str(error), field if field in EDIT_TEXT_FIELDS else None)) from None


@get("/models", operation_id="openaiListModels", summary="Models (OpenAI)", responses=openai_errors(401, 403),
     dependencies=uses(run_images=RunImagesCall),
     description="OpenAI's `GET /v1/models`: the image models this gateway's providers serve (their ids are "
                 "what `model` takes; some have aliases, e.g. `flux-schnell`).")
async def models(run_images: NamedDependency[RunImagesCall]) -> ModelList:
    return ModelList(data=[ModelOut(id=m.id, created=CATALOG_CREATED, owned_by=m.provider_id)
                           for m in await run_images.models()])


@get("/models/{model:path}", operation_id="openaiGetModel", summary="One model (OpenAI)",
     responses=openai_errors(401, 403, 404), dependencies=uses(run_images=RunImagesCall),
     description="OpenAI's `GET /v1/models/{model}` (an id or an alias).")
async def one_model(model: FromPath[str], run_images: NamedDependency[RunImagesCall]) -> ModelOut:
    name = model.lstrip("/")
    found = await run_images.model(name)
    if found is None:
        raise ProblemException(DomainError(ErrorCode.NOT_FOUND, f"the model {name!r} does not exist here",
                                           field="model"))
    return ModelOut(id=found.id, created=CATALOG_CREATED, owned_by=found.provider_id)


router = Router(path="/openai/v1", tags=["openai"], guards=[require_user], security=BEARER_SECURITY,
                exception_handlers=OPENAI_EXCEPTION_HANDLERS, route_handlers=[generate, edit, models, one_model])
