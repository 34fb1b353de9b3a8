"""The AssetRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

import msgspec

from domain.assets import Asset, AssetSource, AssetStatus, MediaType
from domain.pagination import Cursor, decode_cursor
from domain.ports import AssetFilter, UnitOfWorkFactory
from tests.contract.builders import add_user, asset, at


async def add_assets(factory: UnitOfWorkFactory, *assets: Asset) -> None:
    async with factory() as uow:
        for a in assets:
            assert await uow.assets.add(a)
        await uow.commit()


async def delete(factory: UnitOfWorkFactory, item: Asset) -> Asset:
    deleted = msgspec.structs.replace(item, deleted_at=at(1000))
    async with factory() as uow:
        await uow.assets.update(deleted)
        await uow.commit()
    return deleted


def test_an_asset_reads_back_as_it_was_added(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        full = asset(owner.id, media_type=MediaType.VIDEO, source=AssetSource.GENERATED,
                     mime_type="video/mp4", size_bytes=5 * 10**9, status=AssetStatus.DOWNLOADING,
                     width=1920, height=1080, duration_seconds=4.04, provider_id="sim",
                     provider_asset_id="remote", job_id="j1", workspace_id="ws",
                     original_filename="clip ✓.mp4", last_accessed_at=at(9))
        await add_assets(uow_factory, full)
        async with uow_factory() as uow:
            assert await uow.assets.get(full.id) == full
            assert await uow.assets.get("missing") is None

    runner.run(scenario())


def test_the_same_bytes_give_one_live_asset_per_owner(uow_factory: UnitOfWorkFactory,
                                                      runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        first = asset(ann.id, "cat.png")
        await add_assets(uow_factory, first)
        async with uow_factory() as uow:
            assert not await uow.assets.add(asset(ann.id, "cat.png"))
            assert await uow.assets.add(asset(bob.id, "cat.png"))
            assert await uow.assets.find_by_sha(ann.id, first.sha256) == first
            await uow.commit()
        deleted = await delete(uow_factory, first)
        again = asset(ann.id, "cat.png")
        async with uow_factory() as uow:
            assert await uow.assets.find_by_sha(ann.id, first.sha256) is None
            assert await uow.assets.get(first.id) == deleted  # the tombstone stays
            assert await uow.assets.add(again)  # a deleted asset does not block new bytes
            assert await uow.assets.find_by_sha(ann.id, first.sha256) == again
            await uow.commit()

    runner.run(scenario())


def test_concurrent_uploads_of_the_same_bytes_keep_one(uow_factory: UnitOfWorkFactory,
                                                       runner: asyncio.Runner) -> None:
    async def upload(owner_id: str) -> bool:
        async with uow_factory() as uow:
            added = await uow.assets.add(asset(owner_id, "same bytes"))
            await uow.commit()
            return added

    async def scenario() -> None:
        owner = await add_user(uow_factory)
        results = await asyncio.gather(*(upload(owner.id) for _ in range(6)))
        assert sum(results) == 1

    runner.run(scenario())


def test_many_keeps_the_order_asked_and_skips_unknown_ids(uow_factory: UnitOfWorkFactory,
                                                          runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        a, b, c = asset(owner.id), asset(owner.id), asset(owner.id)
        await add_assets(uow_factory, a, b, c)
        async with uow_factory() as uow:
            assert await uow.assets.many([c.id, "nope", a.id, c.id]) == [c, a]
            assert await uow.assets.many([]) == []

    runner.run(scenario())


def test_pages_exclude_deleted_assets_filter_and_run_newest_first(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        images = [asset(ann.id, created_at=at(i % 3)) for i in range(6)]
        video = asset(ann.id, media_type=MediaType.VIDEO, source=AssetSource.GENERATED,
                      provider_id="sim", workspace_id="ws", created_at=at(7))
        gone = asset(ann.id, created_at=at(8))
        await add_assets(uow_factory, *images, video, gone, asset(bob.id))
        await delete(uow_factory, gone)
        expected = [a.id for a in sorted([*images, video], key=lambda a: (a.created_at, a.id), reverse=True)]
        seen: list[str] = []
        cursor: Cursor | None = None
        async with uow_factory() as uow:
            while True:
                page = await uow.assets.page(AssetFilter(owner_id=ann.id), cursor, 4)
                seen += [a.id for a in page.items]
                if page.next_cursor is None:
                    break
                decoded = decode_cursor(page.next_cursor)
                assert isinstance(decoded, Cursor)
                cursor = decoded
            assert seen == expected
            for where in (AssetFilter(owner_id=ann.id, media_type=MediaType.VIDEO),
                          AssetFilter(owner_id=ann.id, source=AssetSource.GENERATED),
                          AssetFilter(owner_id=ann.id, provider_id="sim"),
                          AssetFilter(owner_id=ann.id, workspace_id="ws")):
                assert (await uow.assets.page(where, None, 10)).items == [video]

    runner.run(scenario())


def test_live_assets_sharing_a_storage_key_are_counted(uow_factory: UnitOfWorkFactory,
                                                       runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ann, bob = await add_user(uow_factory), await add_user(uow_factory)
        mine, theirs = asset(ann.id, "shared"), asset(bob.id, "shared")
        await add_assets(uow_factory, mine, theirs)
        async with uow_factory() as uow:
            assert await uow.assets.count_live_with_key(mine.storage_key) == 2
        await delete(uow_factory, mine)
        async with uow_factory() as uow:
            assert await uow.assets.count_live_with_key(mine.storage_key) == 1
            assert await uow.assets.count_live_with_key("sha256/none.png") == 0

    runner.run(scenario())
