"""Delete an asset."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.assets.access import discard_if_unused, owned_asset
from application.audit import AuditTrail
from domain.assets import Asset
from domain.errors import DomainError, not_found
from domain.ports import BlobStore, Clock, UnitOfWorkFactory


class DeleteAsset:
    """Delete one of the caller's assets.

    - Another user's asset, or one already deleted, is NOT_FOUND.
    - The asset stays in lineage as a tombstone (its node shows `deleted: true`).
    - Its bytes stop counting against the owner's storage quota.
    - The stored file is removed only when no other live asset (of any user) has the same
      bytes: storage is content-addressed and shared.
    """

    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, clock: Clock, audit: AuditTrail) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self._audit = audit

    async def __call__(self, actor: Actor, asset_id: str) -> Result[Asset, DomainError]:
        async with self._uow() as uow:
            asset = await owned_asset(uow, actor, asset_id)
            if asset is None:
                return Failure(not_found("asset"))
            deleted = msgspec.structs.replace(asset, deleted_at=self._clock.now())
            await uow.assets.update(deleted)
            await uow.users.try_add_storage(asset.owner_id, -asset.size_bytes, None)
            await self._audit.record(uow, actor.user_id, "asset.delete", "asset", asset.id,
                                     sha256=asset.sha256, size_bytes=asset.size_bytes)
            await uow.commit()
        # Only after the commit: a failed commit must not lose the bytes of a live asset.
        await discard_if_unused(self._uow, self._blobs, asset.storage_key)
        return Success(deleted)
