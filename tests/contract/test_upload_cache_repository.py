"""The ProviderUploadRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

from domain.assets import ProviderUpload
from domain.ports import UnitOfWorkFactory
from tests.contract.builders import add_user, asset, at


def test_one_upload_per_asset_and_provider_the_newest_wins(uow_factory: UnitOfWorkFactory,
                                                           runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        image = asset(owner.id)
        first = ProviderUpload(asset_id=image.id, provider_id="fal", provider_asset_id="fal-1",
                               uploaded_at=at(0), expires_at=at(3600))
        elsewhere = ProviderUpload(asset_id=image.id, provider_id="replicate",
                                   provider_asset_id="https://files/1", uploaded_at=at(5))
        renewed = ProviderUpload(asset_id=image.id, provider_id="fal", provider_asset_id="fal-2",
                                 uploaded_at=at(4000), expires_at=None)
        async with uow_factory() as uow:
            assert await uow.assets.add(image)
            assert await uow.uploads.get(image.id, "fal") is None
            await uow.uploads.put(first)
            await uow.uploads.put(elsewhere)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.uploads.get(image.id, "fal") == first
            assert await uow.uploads.get(image.id, "replicate") == elsewhere
            await uow.uploads.put(renewed)
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.uploads.get(image.id, "fal") == renewed
            assert await uow.uploads.get(image.id, "replicate") == elsewhere
            assert await uow.uploads.get("other", "fal") is None

    runner.run(scenario())
