"""Read a caller's assets and where their bytes are."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor, credential_of, refused
from application.assets.access import owned_asset
from application.policy import AssetPolicy
from domain.assets import Asset, AssetSource, AssetStatus, MediaType
from domain.errors import DomainError, conflict, not_found, validation
from domain.pagination import Page, clamp_limit, decode_cursor
from domain.ports import AssetFilter, BlobStore, Clock, UnitOfWorkFactory


class GetAsset:
    """One of the caller's assets. Another user's asset, or a deleted one, is NOT_FOUND.

    - The caller's credential is checked in the same read (one step, one round trip).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, asset_id: str) -> Result[Asset, DomainError]:
        credential = credential_of(actor)
        found = await self._uow.read_asset(credential, asset_id, self._clock.now())
        if not found.granted:
            return Failure(refused(credential))
        return Success(found.value) if found.value is not None else Failure(not_found("asset"))


class ListAssets:
    """The caller's live assets, newest first, with cursor pagination.

    - Filters: media_type (image, video, audio), source (generated, uploaded), provider_id,
      workspace_id; an unknown media_type or source is a VALIDATION_ERROR.
    - `limit` is clamped to 1..100; a malformed cursor is a VALIDATION_ERROR.
    - The caller's credential is checked in the same read (one step, one round trip).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, *, media_type: str | None = None, source: str | None = None,
                       provider_id: str | None = None, workspace_id: str | None = None,
                       cursor: str | None = None, limit: int | None = None) -> Result[Page[Asset], DomainError]:
        after = decode_cursor(cursor)
        if isinstance(after, ValueError):
            return Failure(validation(str(after), "cursor"))
        if media_type is not None and media_type not in set(MediaType):
            return Failure(validation(f"unknown media_type {media_type}", "media_type"))
        if source is not None and source not in set(AssetSource):
            return Failure(validation(f"unknown source {source}", "source"))
        where = AssetFilter(
            owner_id=actor.user_id,
            media_type=MediaType(media_type) if media_type is not None else None,
            source=AssetSource(source) if source is not None else None,
            provider_id=provider_id, workspace_id=workspace_id,
        )
        credential = credential_of(actor)
        page = await self._uow.page_assets(credential, where, after, clamp_limit(limit), self._clock.now())
        if not page.granted or page.value is None:
            return Failure(refused(credential))
        return Success(page.value)


class ContentLocation(msgspec.Struct, frozen=True, kw_only=True):
    url: str | None  # None: the store cannot presign, so the caller streams the bytes from `key`
    key: str
    mime_type: str
    size: int
    filename: str | None


class AssetContent:
    """Where to fetch the bytes of one of the caller's assets.

    - A short-lived presigned URL when the blob store can make one (S3), otherwise the
      storage key for the HTTP layer to stream (embedded mode).
    - Another user's asset, or a deleted one, is NOT_FOUND; an asset whose bytes are not
      stored (yet) is CONFLICT.
    """

    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, policy: AssetPolicy) -> None:
        self._uow = uow
        self._blobs = blobs
        self._policy = policy

    async def __call__(self, actor: Actor, asset_id: str) -> Result[ContentLocation, DomainError]:
        async with self._uow() as uow:
            asset = await owned_asset(uow, actor, asset_id)
        if asset is None:
            return Failure(not_found("asset"))
        if asset.status is not AssetStatus.STORED:
            return Failure(conflict(f"the asset's bytes are not stored (status {asset.status})"))
        url = await self._blobs.presigned_url(asset.storage_key, self._policy.content_url_seconds,
                                              asset.mime_type, asset.original_filename)
        return Success(ContentLocation(url=url, key=asset.storage_key, mime_type=asset.mime_type,
                                       size=asset.size_bytes, filename=asset.original_filename))
