"""Make a job's input assets available to its provider, uploading each at most once."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.pipeline.failures import FailureCode
from domain.accounts import FailureKind, ProviderAccount
from domain.assets import Asset, ProviderUpload
from domain.jobs import Job
from domain.ports import BlobStore, Clock, ProviderClient, UnitOfWorkFactory
from domain.providers import InputRef, ProviderFailure

INPUT_URL_REQUIRED = "INPUT_URL_REQUIRED"  # the provider fetches inputs itself from a URL
INPUT_URL_SECONDS = 6 * 3600


def missing_input(asset_id: str) -> ProviderFailure:
    return ProviderFailure(kind=FailureKind.INVALID, code=FailureCode.INPUT_UNAVAILABLE,
                           message=f"input asset {asset_id} is gone")


class InputStager:
    """The cross-provider upload cache: an asset uploaded to a provider is reused there until
    that provider's expiry; another provider gets its own upload."""

    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, clock: Clock) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock

    async def input_ids(self, job: Job, wanted: int) -> list[str]:
        """The job's own inputs, topped up with its parent's results when it has too few."""
        ids = list(job.input_asset_ids)
        if len(ids) < wanted and job.parent_job_id is not None:
            async with self._uow() as uow:
                parent = await uow.jobs.get(job.parent_job_id)
            if parent is not None:
                ids += [a for a in parent.result_asset_ids if a not in ids][: wanted - len(ids)]
        return ids

    async def stage(self, job: Job, asset_ids: list[str], client: ProviderClient,
                    account: ProviderAccount) -> Result[tuple[InputRef, ...], ProviderFailure]:
        if not asset_ids:  # no unit of work: on SQLite even an empty one takes the write lock
            return Success(())
        async with self._uow() as uow:
            assets = {a.id: a for a in await uow.assets.many(asset_ids)}
        refs: list[InputRef] = []
        for asset_id in asset_ids:
            asset = assets.get(asset_id)
            if asset is None or asset.is_deleted:
                return Failure(missing_input(asset_id))
            staged = await self._stage_one(asset, client, account)
            if isinstance(staged, Failure):
                return staged
            refs.append(staged.unwrap())
        return Success(tuple(refs))

    async def _stage_one(self, asset: Asset, client: ProviderClient,
                         account: ProviderAccount) -> Result[InputRef, ProviderFailure]:
        now = self._clock.now()
        provider_id = client.info.id
        async with self._uow() as uow:
            cached = await uow.uploads.get(asset.id, provider_id)
        if cached is not None and cached.is_usable(now):
            return Success(InputRef(asset_id=asset.id, provider_asset_id=cached.provider_asset_id,
                                    mime_type=asset.mime_type))
        uploaded = await client.upload(account.secret, asset, self._blobs.open(asset.storage_key), now)
        if isinstance(uploaded, Failure):
            if uploaded.failure().code == INPUT_URL_REQUIRED:
                return await self._by_url(asset, uploaded.failure())
            return Failure(uploaded.failure())
        done = uploaded.unwrap()
        async with self._uow() as uow:
            await uow.uploads.put(ProviderUpload(asset_id=asset.id, provider_id=provider_id,
                                                 provider_asset_id=done.provider_asset_id,
                                                 uploaded_at=now, expires_at=done.expires_at))
            await uow.commit()
        return Success(InputRef(asset_id=asset.id, provider_asset_id=done.provider_asset_id,
                                mime_type=asset.mime_type))

    async def _by_url(self, asset: Asset, refused: ProviderFailure) -> Result[InputRef, ProviderFailure]:
        """Providers without uploads fetch inputs from a short-lived URL of our blob store."""
        url = await self._blobs.presigned_url(asset.storage_key, INPUT_URL_SECONDS, asset.mime_type)
        if url is None:
            return Failure(refused)
        return Success(InputRef(asset_id=asset.id, url=url, mime_type=asset.mime_type))
