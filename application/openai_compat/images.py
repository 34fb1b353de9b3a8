"""An OpenAI images call as an ordinary pixrelay job, waited for."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.assets.queries import GetAsset
from application.jobs.create import CreateJob, JobRequest
from application.models.catalog import ModelCatalog
from application.openai_compat.models import CompatModel, ImageAsk, find_model, offered_models, resolve
from application.openai_compat.wait import AwaitJob
from application.policy import OpenAICompatPolicy
from domain.assets import Asset
from domain.errors import DomainError, ErrorCode
from domain.jobs import Job, JobStatus
from domain.ports import BlobStore

JOB_NAME_PREFIX = "openai:"


class Image(msgspec.Struct, frozen=True, kw_only=True):
    asset: Asset
    data: bytes | None = None  # the bytes, when asked for inline


class ImagesOutcome(msgspec.Struct, frozen=True, kw_only=True):
    job: Job
    images: tuple[Image, ...] = ()

    @property
    def finished(self) -> bool:
        return self.job.is_terminal


class RunImagesCall:
    """Generate or edit images for an OpenAI-compatible call, and wait for them.

    - The OpenAI `model` maps to a catalog model, an operation and its params
      (`application/openai_compat/models.py`); an unknown model is NOT_FOUND, an option the
      model cannot honour a VALIDATION_ERROR naming it.
    - The job is created by CreateJob, so the credential, quotas, credits, idempotency,
      lineage and audit are those of `POST /v1/jobs`; it is named `openai:<model>`.
    - An edit takes one input asset (the uploaded image).
    - The call waits for the job by its events up to the configured limit; an unfinished
      job is given back as it is (the caller answers with its id), a finished one with its
      images (their bytes too when `inline`).
    """

    def __init__(self, create_job: CreateJob, await_job: AwaitJob, get_asset: GetAsset, blobs: BlobStore,
                 catalog: ModelCatalog, policy: OpenAICompatPolicy) -> None:
        self._create_job = create_job
        self._await_job = await_job
        self._get_asset = get_asset
        self._blobs = blobs
        self._catalog = catalog
        self._policy = policy

    async def models(self) -> list[CompatModel]:
        """The catalog's image models (of the providers this deployment runs)."""
        return offered_models(await self._catalog.models())

    async def model(self, name: str) -> CompatModel | None:
        return find_model(name, await self._catalog.models())

    async def __call__(self, actor: Actor, model: str | None, ask: ImageAsk, *, inline: bool = False,
                       input_asset_id: str | None = None,
                       idempotency_key: str | None = None) -> Result[ImagesOutcome, DomainError]:
        target = resolve(model, ask, await self._catalog.models())
        if isinstance(target, Failure):
            return Failure(target.failure())
        chosen = target.unwrap()
        request = JobRequest(model=chosen.model, provider_id=chosen.provider_id, operation_type=chosen.operation_type,
                             params=chosen.params, name=f"{JOB_NAME_PREFIX}{model}"[:200],
                             input_asset_ids=[input_asset_id] if input_asset_id else [])
        created = await self._create_job(actor, request, idempotency_key)
        if isinstance(created, Failure):
            return Failure(created.failure())
        waited = await self._await_job(actor, created.unwrap().job.id, self._policy.wait_seconds,
                                       self._policy.recheck_seconds)
        if isinstance(waited, Failure):
            return Failure(waited.failure())
        job = waited.unwrap()
        if job.status is not JobStatus.COMPLETED:
            return Success(ImagesOutcome(job=job))
        images: list[Image] = []
        for asset_id in job.result_asset_ids:
            asset = await self._get_asset(actor, asset_id)
            if isinstance(asset, Failure):
                return Failure(asset.failure())
            data = await self._read(asset.unwrap().storage_key) if inline else None
            if inline and data is None:
                return Failure(DomainError(ErrorCode.OUTPUT_UNAVAILABLE, f"the bytes of asset {asset_id} are missing"))
            images.append(Image(asset=asset.unwrap(), data=data))
        return Success(ImagesOutcome(job=job, images=tuple(images)))

    async def _read(self, key: str) -> bytes | None:
        try:
            return b"".join([chunk async for chunk in self._blobs.open(key)])
        except KeyError:
            return None
