"""Shared by the asset use cases: ownership reads and cleaning up unused blobs."""

from __future__ import annotations

from application.actor import Actor
from domain.assets import Asset
from domain.ports import BlobStore, UnitOfWork, UnitOfWorkFactory


async def owned_asset(uow: UnitOfWork, actor: Actor, asset_id: str) -> Asset | None:
    """The caller's live asset, or None: another user's or a deleted one looks absent."""
    asset = await uow.assets.get(asset_id)
    if asset is None or asset.owner_id != actor.user_id or asset.is_deleted:
        return None
    return asset


async def discard_if_unused(uow_factory: UnitOfWorkFactory, blobs: BlobStore, key: str) -> None:
    """Delete the bytes at `key` unless a live asset (of any user) still points at them.
    Keys are content addresses, so one blob can back many assets."""
    async with uow_factory() as uow:
        if await uow.assets.count_live_with_key(key) == 0:
            await blobs.delete(key)
