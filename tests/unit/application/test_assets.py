"""Uploading, reading and deleting assets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.memory.blobs import InMemoryBlobStore
from application.assets.queries import AssetContent
from application.assets.upload import UploadAsset
from application.audit import AuditTrail
from domain.assets import SNIFF_BYTES, AssetSource, MediaType
from domain.clock import utc_day
from domain.errors import ErrorCode
from domain.ports import StoredBlob
from domain.quotas import QuotaPolicy
from tests.unit.application.media_world import JPEG, MP4, PNG, WEBP, World, failure_code, sha, stream


@pytest.fixture
def world() -> Iterator[World]:
    with asyncio.Runner() as runner:
        yield World(runner)


# ---------------------------------------------------------------- upload


def test_an_upload_is_stored_typed_and_counted(world: World) -> None:
    alice = world.user("alice")
    outcome = world.run(world.upload(alice, stream(PNG), "holiday.png", "ws-1")).unwrap()
    asset = outcome.asset
    assert outcome.created
    assert (asset.owner_id, asset.media_type, asset.mime_type) == ("alice", MediaType.IMAGE, "image/png")
    assert (asset.source, asset.size_bytes, asset.sha256) == (AssetSource.UPLOADED, len(PNG), sha(PNG))
    assert (asset.original_filename, asset.workspace_id) == ("holiday.png", "ws-1")
    assert world.blobs.keys() == [asset.storage_key]
    assert world.state.assets[asset.id] == asset
    assert world.stored_bytes("alice") == len(PNG)
    usage = world.state.usage[("alice", utc_day(world.clock.now()))]
    assert (usage.assets_created, usage.bytes_stored) == (1, len(PNG))
    [entry] = world.state.audit
    assert (entry.action, entry.actor_id, entry.resource_id) == ("asset.upload", "alice", asset.id)


@pytest.mark.parametrize(("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"),
                                            (MP4, "video/mp4"), (WEBP, "image/webp")])
def test_the_type_comes_from_magic_bytes_not_the_filename(world: World, data: bytes, mime: str) -> None:
    alice = world.user("alice")
    asset = world.put(alice, data, filename="claims-to-be.mp3")
    assert asset.mime_type == mime


def test_the_head_is_sniffed_across_one_byte_chunks(world: World) -> None:
    alice = world.user("alice")
    outcome = world.run(world.upload(alice, stream(WEBP, chunk=1))).unwrap()
    assert outcome.asset.mime_type == "image/webp"
    assert outcome.asset.sha256 == sha(WEBP)  # the sniffed head is stored too, once


def test_unknown_bytes_are_unsupported_and_nothing_is_kept(world: World) -> None:
    alice = world.user("alice")
    result = world.run(world.upload(alice, stream(b"%PDF-1.7 not media at all" * 3), "x.png"))
    assert failure_code(result) is ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert world.blobs.keys() == [] and world.state.assets == {}


@pytest.mark.parametrize("chunks", [[], [b""], [b"", b""]])
def test_an_empty_file_is_a_validation_error(world: World, chunks: list[bytes]) -> None:
    alice = world.user("alice")

    async def empty() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    result = world.run(world.upload(alice, empty()))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert world.state.assets == {}


def test_the_size_limit_is_per_media_type(world: World) -> None:
    alice = world.user("alice")
    big = bytes(2000)  # over the 1000-byte image limit, within the 5000-byte video limit
    too_big_image = world.run(world.upload(alice, stream(PNG + big, chunk=256)))
    assert failure_code(too_big_image) is ErrorCode.PAYLOAD_TOO_LARGE
    assert world.blobs.keys() == [] and world.stored_bytes("alice") == 0
    assert world.put(alice, MP4 + big).size_bytes == len(MP4 + big)


def test_exactly_at_the_limit_is_accepted(world: World) -> None:
    alice = world.user("alice")
    data = PNG + bytes(1000 - len(PNG))
    assert world.put(alice, data).size_bytes == 1000


def test_the_file_reaches_the_store_in_chunks_never_joined(world: World) -> None:
    class RecordingStore(InMemoryBlobStore):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        async def put(self, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredBlob:
            async def spy() -> AsyncIterator[bytes]:
                async for chunk in chunks:
                    self.sizes.append(len(chunk))
                    yield chunk
            return await super().put(spy(), max_bytes)

    store = RecordingStore()
    upload = UploadAsset(world.uow, store, world.clock, world.ids, AuditTrail(world.clock, world.ids),
                         world.policy)
    alice = world.user("alice")
    data = MP4 + bytes(4000)
    world.run(upload(alice, stream(data, chunk=7))).unwrap()
    head, *rest = store.sizes
    assert SNIFF_BYTES <= head < SNIFF_BYTES + 7  # only the sniffed head is buffered
    assert set(rest[:-1]) == {7} and head + sum(rest) == len(data)


def test_the_same_bytes_twice_give_the_existing_asset_counted_once(world: World) -> None:
    alice = world.user("alice")
    first = world.put(alice, PNG, "a.png")
    again = world.run(world.upload(alice, stream(PNG), "b.png")).unwrap()
    assert not again.created and again.asset == first
    assert len(world.state.assets) == 1
    assert world.stored_bytes("alice") == len(PNG)
    assert world.state.usage[("alice", utc_day(world.clock.now()))].assets_created == 1
    assert world.actions() == ["asset.upload"]


def test_dedup_is_per_user(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    mine, theirs = world.put(alice, PNG), world.put(bob, PNG)
    assert mine.id != theirs.id and mine.storage_key == theirs.storage_key
    assert world.stored_bytes("alice") == world.stored_bytes("bob") == len(PNG)


def test_concurrent_uploads_of_the_same_bytes_make_one_asset(world: World) -> None:
    alice = world.user("alice")

    async def both() -> list[bool]:
        outcomes = await asyncio.gather(*(world.upload(alice, stream(PNG, chunk=3)) for _ in range(3)))
        return [o.unwrap().created for o in outcomes]

    assert sorted(world.run(both())) == [False, False, True]
    assert len(world.state.assets) == 1 and world.stored_bytes("alice") == len(PNG)


def test_the_storage_quota_rejects_and_keeps_nothing(world: World) -> None:
    alice = world.user("alice", QuotaPolicy(max_storage_bytes=len(PNG) + 10))
    world.put(alice, PNG)
    result = world.run(world.upload(alice, stream(JPEG)))
    assert failure_code(result) is ErrorCode.QUOTA_EXCEEDED
    assert len(world.state.assets) == 1 and world.stored_bytes("alice") == len(PNG)
    assert world.blobs.keys() == [world.state.assets[next(iter(world.state.assets))].storage_key]
    assert world.actions() == ["asset.upload"]


def test_over_quota_the_blob_of_another_users_asset_stays(world: World) -> None:
    alice, bob = world.user("alice", QuotaPolicy(max_storage_bytes=10)), world.user("bob")
    bobs = world.put(bob, PNG)
    assert failure_code(world.run(world.upload(alice, stream(PNG)))) is ErrorCode.QUOTA_EXCEEDED
    assert world.blobs.keys() == [bobs.storage_key]


def test_dedup_wins_over_a_full_quota(world: World) -> None:
    alice = world.user("alice", QuotaPolicy(max_storage_bytes=len(PNG)))
    first = world.put(alice, PNG)
    again = world.run(world.upload(alice, stream(PNG))).unwrap()
    assert again.asset == first and not again.created


def test_the_filename_is_reduced_to_its_last_component(world: World) -> None:
    alice = world.user("alice")
    assert world.put(alice, PNG, "../../etc/passwd.png").original_filename == "passwd.png"


@pytest.mark.parametrize("workspace_id", ["", "w" * 129])
def test_a_bad_workspace_id_is_a_validation_error(world: World, workspace_id: str) -> None:
    alice = world.user("alice")
    result = world.run(world.upload(alice, stream(PNG), workspace_id=workspace_id))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR
    assert world.blobs.keys() == []


# ---------------------------------------------------------------- read


def test_get_gives_the_callers_asset_only(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    asset = world.put(alice, PNG)
    assert world.run(world.get_asset(alice, asset.id)).unwrap() == asset
    assert failure_code(world.run(world.get_asset(bob, asset.id))) is ErrorCode.NOT_FOUND
    assert failure_code(world.run(world.get_asset(alice, "nope"))) is ErrorCode.NOT_FOUND


def test_list_filters_and_pages(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    image = world.put(alice, PNG, workspace_id="w1")
    world.clock.advance(1)
    video = world.put(alice, MP4)
    world.clock.advance(1)
    generated = world.generated("alice", seed=1)
    world.put(bob, JPEG)

    def ids(**filters: object) -> list[str]:
        page = world.run(world.list_assets(alice, **filters)).unwrap()  # type: ignore[arg-type]
        return [a.id for a in page.items]

    assert ids() == [generated.id, video.id, image.id]
    assert ids(media_type="video") == [video.id]
    assert ids(source="uploaded") == [video.id, image.id]
    assert ids(provider_id="sim") == [generated.id]
    assert ids(workspace_id="w1") == [image.id]
    first = world.run(world.list_assets(alice, limit=2)).unwrap()
    second = world.run(world.list_assets(alice, limit=2, cursor=first.next_cursor)).unwrap()
    assert [a.id for a in first.items + second.items] == [generated.id, video.id, image.id]
    assert second.next_cursor is None
    assert len(world.run(world.list_assets(alice, limit=0)).unwrap().items) == 1


@pytest.mark.parametrize("filters", [{"cursor": "%%%not-a-cursor"}, {"media_type": "document"},
                                     {"source": "stolen"}])
def test_list_rejects_bad_filters(world: World, filters: dict[str, Any]) -> None:
    alice = world.user("alice")
    result = world.run(world.list_assets(alice, **filters))
    assert failure_code(result) is ErrorCode.VALIDATION_ERROR


def test_deleted_assets_are_not_listed_nor_found(world: World) -> None:
    alice = world.user("alice")
    asset = world.put(alice, PNG)
    world.run(world.delete_asset(alice, asset.id)).unwrap()
    assert world.run(world.list_assets(alice)).unwrap().items == []
    assert failure_code(world.run(world.get_asset(alice, asset.id))) is ErrorCode.NOT_FOUND


def test_content_without_presigning_names_the_key_to_stream(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    asset = world.put(alice, PNG, "cat.png")
    where = world.run(world.content(alice, asset.id)).unwrap()
    assert (where.url, where.key, where.mime_type, where.size, where.filename) == (
        None, asset.storage_key, "image/png", len(PNG), "cat.png")
    assert failure_code(world.run(world.content(bob, asset.id))) is ErrorCode.NOT_FOUND


def test_content_with_presigning_gives_a_short_lived_url(world: World) -> None:
    class PresigningStore(InMemoryBlobStore):
        async def presigned_url(self, key: str, expires_seconds: int, mime_type: str,
                                filename: str | None = None) -> str | None:
            return f"https://blobs.example/{key}?ttl={expires_seconds}&type={mime_type}&name={filename}"

    alice = world.user("alice")
    asset = world.put(alice, PNG, "cat.png")
    content = AssetContent(world.uow, PresigningStore(), world.policy)
    where = world.run(content(alice, asset.id)).unwrap()
    assert where.url == f"https://blobs.example/{asset.storage_key}?ttl=120&type=image/png&name=cat.png"


# ---------------------------------------------------------------- delete


def test_delete_leaves_a_tombstone_and_gives_storage_back(world: World) -> None:
    alice = world.user("alice")
    asset = world.put(alice, PNG)
    world.clock.advance(5)
    deleted = world.run(world.delete_asset(alice, asset.id)).unwrap()
    assert deleted.deleted_at == world.clock.now()
    assert world.state.assets[asset.id].is_deleted  # the row stays for lineage
    assert world.stored_bytes("alice") == 0
    assert world.blobs.keys() == []
    assert world.actions() == ["asset.upload", "asset.delete"]
    assert failure_code(world.run(world.delete_asset(alice, asset.id))) is ErrorCode.NOT_FOUND


def test_another_users_asset_cannot_be_deleted(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    asset = world.put(alice, PNG)
    assert failure_code(world.run(world.delete_asset(bob, asset.id))) is ErrorCode.NOT_FOUND
    assert not world.state.assets[asset.id].is_deleted and world.blobs.keys() == [asset.storage_key]


def test_shared_bytes_stay_until_the_last_asset_goes(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    mine, theirs = world.put(alice, PNG), world.put(bob, PNG)
    world.run(world.delete_asset(alice, mine.id)).unwrap()
    assert world.blobs.keys() == [mine.storage_key]
    assert world.run(world.get_asset(bob, theirs.id)).unwrap() == theirs
    world.run(world.delete_asset(bob, theirs.id)).unwrap()
    assert world.blobs.keys() == []


def test_bytes_can_be_uploaded_again_after_a_delete(world: World) -> None:
    alice = world.user("alice")
    first = world.put(alice, PNG)
    world.run(world.delete_asset(alice, first.id)).unwrap()
    again = world.run(world.upload(alice, stream(PNG))).unwrap()
    assert again.created and again.asset.id != first.id
    assert world.blobs.keys() == [again.asset.storage_key] and world.stored_bytes("alice") == len(PNG)
