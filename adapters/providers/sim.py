"""The built-in simulator: a provider without a network, deterministic from its inputs.

Every pipeline path can be driven from outside through two params each operation accepts:
`sim_latency_ms` (how long the remote job runs on the injected clock) and `sim_outcome`:
- `transient_error`: the first submission of a job fails after its latency (TRANSIENT);
  later submissions of the same job succeed;
- `final_error`: the job is moderated after its latency (MODERATED, CONTENT_MODERATED);
- `account_error`: the first account (secret) the job is sent to rejects it on submit (AUTH);
  other accounts succeed.
"The same job" is recognised by a fingerprint of operation, params and inputs, because the
pipeline sends a fresh reference (submission id) with every attempt.

Remote state lives in a `SimState`: this process's memory by default, or a directory that
several processes share (`DirectorySimState`), so a job submitted by one worker can be polled
by another, as with a real provider. The secret `sim-invalid-key` is always rejected, and
`failure_rate` makes submissions fail at random (seeded) with TRANSIENT.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal, cast

import msgspec
from returns.result import Failure, Result, Success

from adapters.media import animated_gif, png
from adapters.providers.sim_state import InMemorySimState, SimJobRecord, SimState
from domain.accounts import FailureKind
from domain.assets import Asset
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
    check_input_count,
)

SIM_PROVIDER_ID = "sim"
INVALID_KEY = "sim-invalid-key"
UPLOAD_TTL = timedelta(hours=1)
CHUNK_SIZE = 64 * 1024
UPSCALE_BASE_SIDE = 256  # the sim does not read its input: an upscale is base * scale square

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
LatencyMs = Annotated[int, msgspec.Meta(ge=0, le=60000, description="simulated run time")]
Outcome = Literal["success", "transient_error", "final_error", "account_error"]
ImageSide = Annotated[int, msgspec.Meta(ge=64, le=1024)]
VideoSide = Annotated[int, msgspec.Meta(ge=64, le=512)]


class SimImageParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    seed: int = 0
    width: ImageSide = 256
    height: ImageSide = 256
    num_images: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1
    sim_latency_ms: LatencyMs = 0
    sim_outcome: Outcome = "success"


class SimVideoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    seed: int = 0
    seconds: Annotated[int, msgspec.Meta(ge=1, le=10)] = 4
    width: VideoSide = 128
    height: VideoSide = 128
    fps: Annotated[int, msgspec.Meta(ge=1, le=12)] = 4
    sim_latency_ms: LatencyMs = 0
    sim_outcome: Outcome = "success"


class SimUpscaleParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    scale: Literal[2, 4] = 2
    seed: int = 0
    sim_latency_ms: LatencyMs = 0
    sim_outcome: Outcome = "success"


SimParams = SimImageParams | SimVideoParams | SimUpscaleParams

_PER_IMAGE = PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE, quantity_param="num_images")
_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="seconds",
                        default_quantity=4)
_PER_JOB = PriceRule(credits_per_unit=1, unit=PriceUnit.JOB)


def _spec(operation: OperationType, params: type[msgspec.Struct], price: PriceRule,
          inputs: int) -> OperationSpec:
    return OperationSpec(operation_type=operation, params_type=params, price=price,
                         min_inputs=inputs, max_inputs=inputs)


SIM_INFO = ProviderInfo(
    id=SIM_PROVIDER_ID,
    name="pixrelay simulator",
    finds_by_reference=True,
    operations=(
        _spec(OperationType.TEXT_TO_IMAGE, SimImageParams, _PER_IMAGE, 0),
        _spec(OperationType.IMAGE_TO_IMAGE, SimImageParams, _PER_IMAGE, 1),
        _spec(OperationType.TEXT_TO_VIDEO, SimVideoParams, _PER_SECOND, 0),
        _spec(OperationType.IMAGE_TO_VIDEO, SimVideoParams, _PER_SECOND, 1),
        _spec(OperationType.VIDEO_EXTEND, SimVideoParams, _PER_SECOND, 1),
        _spec(OperationType.VIDEO_TRANSITION, SimVideoParams, _PER_SECOND, 2),
        _spec(OperationType.UPSCALE, SimUpscaleParams, _PER_JOB, 1),
    ),
    upload_ttl_seconds=int(UPLOAD_TTL.total_seconds()),
)

INLINE_RENDER_PIXELS = 64 * 64 * 2  # at most about a millisecond or two of drawing on the event loop
_JOB_ID = re.compile(r"sim-[0-9a-f]{24}")
_OUTPUT_URL = re.compile(r"sim://outputs/(sim-[0-9a-f]{24})/(\d+)\.(png|gif)")


@dataclass(frozen=True)
class _RemoteJob:
    id: str
    params: SimParams
    input_keys: tuple[str, ...]
    submitted_at: datetime
    failure: ProviderFailure | None
    cancelled: bool

    @classmethod
    def of(cls, record: SimJobRecord) -> _RemoteJob:
        spec = SIM_INFO.operation(record.operation_type).unwrap()
        params = cast(SimParams, msgspec.convert(record.params, spec.params_type))
        return cls(id=record.id, params=params, input_keys=record.input_keys,
                   submitted_at=record.submitted_at, failure=record.failure, cancelled=record.cancelled)

    def finished(self, now: datetime) -> bool:
        return now - self.submitted_at >= timedelta(milliseconds=self.params.sim_latency_ms)

    @property
    def extension(self) -> str:
        return "gif" if isinstance(self.params, SimVideoParams) else "png"

    @property
    def output_count(self) -> int:
        return self.params.num_images if isinstance(self.params, SimImageParams) else 1

    def outputs(self) -> tuple[ProviderOutput, ...]:
        mime = f"image/{self.extension}"
        return tuple(
            ProviderOutput(url=f"sim://outputs/{self.id}/{n}.{self.extension}", mime_type=mime,
                           provider_asset_id=f"{self.id}/{n}")
            for n in range(self.output_count)
        )

    @property
    def pixels(self) -> int:
        """How much there is to draw per output (pixels times frames)."""
        params = self.params
        if isinstance(params, SimVideoParams):
            return params.width * params.height * params.seconds * params.fps
        if isinstance(params, SimImageParams):
            return params.width * params.height
        return (UPSCALE_BASE_SIDE * params.scale) ** 2

    def render(self, index: int) -> bytes:
        """The bytes of output `index`: a function of seed, prompt, inputs and index only."""
        prompt = getattr(self.params, "prompt", "")
        material = f"{self.params.seed}|{prompt}|{'|'.join(self.input_keys)}|{index}"
        seed = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")
        params = self.params
        if isinstance(params, SimVideoParams):
            return animated_gif(params.width, params.height, frames=params.seconds * params.fps,
                                seed=seed, delay_cs=round(100 / params.fps))
        if isinstance(params, SimImageParams):
            return png(params.width, params.height, seed)
        side = UPSCALE_BASE_SIDE * params.scale
        return png(side, side, seed)


def _failure(kind: FailureKind, code: str, message: str,
             retry_after_seconds: int | None = None) -> Failure[ProviderFailure]:
    return Failure(ProviderFailure(kind=kind, code=code, message=message,
                                   retry_after_seconds=retry_after_seconds))


def _rejected_key() -> Failure[ProviderFailure]:
    return _failure(FailureKind.AUTH, "INVALID_API_KEY", "the simulator rejects this key")


class SimProvider:
    """ProviderClient for the built-in `sim` provider."""

    def __init__(self, clock: Callable[[], datetime], *, failure_rate: float = 0.0,
                 random_seed: int = 0, state: SimState | None = None, provider_id: str = SIM_PROVIDER_ID) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be within 0..1")
        # Another id: a second simulated provider (routing across providers, in tests).
        self._info = SIM_INFO if provider_id == SIM_PROVIDER_ID else msgspec.structs.replace(SIM_INFO, id=provider_id)
        self._clock = clock
        self._failure_rate = failure_rate
        self._random = random.Random(random_seed)
        self._state: SimState = state if state is not None else InMemorySimState()
        self.upload_count = 0  # this instance's uploads (they leave no remote state)

    @property
    def submits_by_reference(self) -> Counter[str]:
        """Every submit the remote side received, per reference (all processes sharing its state)."""
        return self._state.submits()

    @property
    def duplicate_submits(self) -> set[str]:
        """References submitted again after the simulator had accepted them: a second
        submit of one attempt, which the pipeline must never make."""
        return self._state.duplicates()

    def remote_job(self, provider_job_id: str) -> SimJobRecord | None:
        """A remote job as the simulator holds it (what it was sent)."""
        return self._state.job(provider_job_id)

    @property
    def submit_count(self) -> int:
        return sum(self.submits_by_reference.values())

    @property
    def info(self) -> ProviderInfo:
        return self._info

    async def submit(self, secret: str, request: SubmitRequest) -> Result[str, ProviderFailure]:
        self._state.record_submit(request.reference)
        if secret == INVALID_KEY:
            return _rejected_key()
        parsed = _parse(request)
        if isinstance(parsed, ProviderFailure):
            return Failure(parsed)
        params, input_keys = parsed
        existing = self._state.job_for(request.reference)
        if existing is not None:  # the same reference twice is one remote job, like an idempotency key
            self._state.record_duplicate(request.reference)
            return Success(existing)
        if self._failure_rate and self._random.random() < self._failure_rate:
            return _failure(FailureKind.TRANSIENT, "SIM_UNAVAILABLE",
                            "simulated random outage (failure_rate)", retry_after_seconds=1)
        fingerprint = _fingerprint(request.operation_type, params, input_keys)
        if params.sim_outcome == "account_error" and self._state.is_first_secret(fingerprint, secret):
            return _failure(FailureKind.AUTH, "SIM_KEY_REJECTED",
                            "simulated account error: this account's key was rejected")
        job = SimJobRecord(
            id="sim-" + hashlib.sha256(request.reference.encode()).hexdigest()[:24],
            reference=request.reference,
            operation_type=request.operation_type,
            params=msgspec.to_builtins(params),
            input_keys=input_keys,
            submitted_at=self._clock(),
            failure=self._planned_failure(params.sim_outcome, fingerprint),
            model=request.model,
        )
        return Success(self._state.add_job(job))

    def _planned_failure(self, outcome: Outcome, fingerprint: str) -> ProviderFailure | None:
        if outcome == "final_error":
            return ProviderFailure(kind=FailureKind.MODERATED, code=ErrorCode.CONTENT_MODERATED.value,
                                   message="simulated moderation: the content was rejected")
        if outcome == "transient_error" and self._state.spend_transient(fingerprint):
            return ProviderFailure(kind=FailureKind.TRANSIENT, code="SIM_TRANSIENT",
                                   message="simulated transient failure on the first attempt")
        return None

    async def find(self, secret: str, reference: str) -> Result[str | None, ProviderFailure]:
        if secret == INVALID_KEY:
            return _rejected_key()
        return Success(self._state.job_for(reference))

    async def status(self, secret: str, provider_job_id: str) -> Result[RemoteStatus, ProviderFailure]:
        if secret == INVALID_KEY:
            return _rejected_key()
        if not _JOB_ID.fullmatch(provider_job_id):
            return _failure(FailureKind.INVALID, "INVALID_JOB_ID", f"malformed job id {provider_job_id!r}")
        job = self._job(provider_job_id)
        if job is None:
            return _failure(FailureKind.INVALID, "JOB_NOT_FOUND",
                            f"the simulator has no job {provider_job_id} (its state may be per process: "
                            "share it with PIXRELAY_SIM_STATE_DIR)")
        return Success(self._status_of(job))

    def _job(self, job_id: str) -> _RemoteJob | None:
        record = self._state.job(job_id)
        return None if record is None else _RemoteJob.of(record)

    def _status_of(self, job: _RemoteJob) -> RemoteStatus:
        if job.cancelled:
            return RemoteStatus(state=RemoteState.CANCELLED, raw_status="cancelled")
        now = self._clock()
        if not job.finished(now):
            elapsed = max(0.0, (now - job.submitted_at) / timedelta(milliseconds=1))
            state = RemoteState.RUNNING if elapsed > 0 else RemoteState.QUEUED
            return RemoteStatus(state=state, raw_status=state.value,
                                progress=elapsed / max(1, job.params.sim_latency_ms))
        if job.failure is not None:
            return RemoteStatus(state=RemoteState.FAILED, raw_status="failed", failure=job.failure)
        return RemoteStatus(state=RemoteState.SUCCEEDED, raw_status="succeeded", outputs=job.outputs(),
                            progress=1.0)

    async def cancel(self, secret: str, provider_job_id: str) -> None:
        job = self._job(provider_job_id) if _JOB_ID.fullmatch(provider_job_id) else None
        if job is not None and secret != INVALID_KEY and not job.finished(self._clock()):
            self._state.cancel(provider_job_id)

    async def upload(self, secret: str, asset: Asset, chunks: AsyncIterator[bytes],
                     now: datetime) -> Result[UploadedInput, ProviderFailure]:
        if secret == INVALID_KEY:
            return _rejected_key()
        digest = hashlib.sha256()
        async for chunk in chunks:
            digest.update(chunk)
        self.upload_count += 1
        return Success(UploadedInput(provider_asset_id=f"sim-upload-{digest.hexdigest()}",
                                     expires_at=now + UPLOAD_TTL))

    def download(self, output: ProviderOutput) -> AsyncIterator[bytes]:
        return self._download(output.url)

    async def _download(self, url: str) -> AsyncIterator[bytes]:
        match = _OUTPUT_URL.fullmatch(url)
        job = self._job(match.group(1)) if match else None
        if match is None or job is None or match.group(3) != job.extension:
            raise OutputUnavailable(f"the simulator has no output at {url}")
        index = int(match.group(2))
        if job.cancelled or job.failure is not None or not job.finished(self._clock()) \
                or index >= job.output_count:
            raise OutputUnavailable(f"the simulator has no output at {url}")
        if job.pixels <= INLINE_RENDER_PIXELS:
            data = job.render(index)  # a thumbnail draws faster than a thread hop
        else:
            data = await asyncio.to_thread(job.render, index)  # large videos take seconds to draw
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start:start + CHUNK_SIZE]


def _parse(request: SubmitRequest) -> tuple[SimParams, tuple[str, ...]] | ProviderFailure:
    spec = SIM_INFO.operation(request.operation_type).value_or(None)
    if spec is None:
        return ProviderFailure(kind=FailureKind.INVALID, code="UNSUPPORTED_OPERATION",
                               message=f"the simulator does not offer {request.operation_type}")
    try:
        params = cast(SimParams, msgspec.convert(request.params, spec.params_type))
    except msgspec.ValidationError as error:
        return ProviderFailure(kind=FailureKind.INVALID, code="INVALID_PARAMS", message=str(error))
    counted = check_input_count(spec, len(request.inputs))
    if isinstance(counted, Failure):
        return ProviderFailure(kind=FailureKind.INVALID, code="INVALID_INPUTS",
                               message=counted.failure().detail)
    if any(ref.provider_asset_id is None and ref.url is None for ref in request.inputs):
        return ProviderFailure(kind=FailureKind.INVALID, code="INVALID_INPUTS",
                               message="every input needs a provider asset id or a URL")
    # content-based upload ids are stable across attempts; presigned URLs are not
    return params, tuple(ref.provider_asset_id or ref.asset_id for ref in request.inputs)


def _fingerprint(operation: OperationType, params: SimParams, input_keys: tuple[str, ...]) -> str:
    body = msgspec.json.encode([operation, msgspec.to_builtins(params), list(input_keys)], order="sorted")
    return hashlib.sha256(body).hexdigest()
