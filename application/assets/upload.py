"""Upload a file as an asset."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.assets.access import discard_if_unused
from application.audit import AuditTrail
from application.policy import AssetPolicy
from domain.assets import (
    IMAGE_HEADER_BYTES,
    SNIFF_BYTES,
    Asset,
    AssetSource,
    MediaType,
    Sniffed,
    check_pixels,
    image_dimensions,
    safe_filename,
    sniff,
)
from domain.clock import utc_day
from domain.errors import DomainError, ErrorCode, conflict, quota_exceeded, unauthenticated, validation
from domain.ports import (
    BlobStore,
    BlobTooLarge,
    Clock,
    IdGenerator,
    StoredBlob,
    UnitOfWork,
    UnitOfWorkFactory,
    UsageDelta,
)

MAX_WORKSPACE_ID = 128


class UploadOutcome(msgspec.Struct, frozen=True):
    asset: Asset
    created: bool  # False when the caller already had these bytes


class UploadAsset:
    """Upload an image, video or audio file as one of the caller's assets.

    - The type comes from the file's first bytes (magic bytes), never from the client's
      claim or the filename; anything else is 415 UNSUPPORTED_MEDIA_TYPE.
    - The file is streamed to storage, never held whole in memory. Past the limit of its
      media type (default image 20 MB, video 500 MB, audio 100 MB) it is 413 PAYLOAD_TOO_LARGE.
    - An image declaring more than 50 megapixels in its header (a decompression bomb) is 413
      PAYLOAD_TOO_LARGE; a header cut short is 422 VALIDATION_ERROR. Nothing is stored.
    - An empty file is 422 VALIDATION_ERROR.
    - The same bytes uploaded again by the same user give the existing asset back
      (created = false); its storage is counted once.
    - The storage quota is checked atomically: 429 QUOTA_EXCEEDED, and nothing is kept.
    - Counts today's usage (assets created, bytes stored) and writes an audit entry.
    """

    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, clock: Clock, ids: IdGenerator,
                 audit: AuditTrail, policy: AssetPolicy) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._policy = policy

    async def __call__(self, actor: Actor, chunks: AsyncIterable[bytes], filename: str | None = None,
                       workspace_id: str | Callable[[], str | None] | None = None) -> Result[UploadOutcome, DomainError]:
        """`workspace_id` may be a function, asked once the file is read (a form field sent
        after the file)."""
        if not callable(workspace_id) and not _fits_workspace(workspace_id):
            return Failure(_bad_workspace())
        stream = aiter(chunks)
        head = await read_head(stream, SNIFF_BYTES)
        if not head:
            return Failure(validation("the file is empty", "file"))
        sniffed = sniff(head)
        if isinstance(sniffed, Failure):
            return Failure(sniffed.failure())
        kind = sniffed.unwrap()
        if kind.media_type is MediaType.IMAGE:
            head += await read_head(stream, IMAGE_HEADER_BYTES - len(head))
            dimensions = image_dimensions(head[:IMAGE_HEADER_BYTES], kind.mime_type,
                                          complete=len(head) < IMAGE_HEADER_BYTES)
            checked = dimensions.bind(lambda size: check_pixels(self._policy.limits, size))
            if isinstance(checked, Failure):
                return Failure(checked.failure())
        limit = self._policy.limits.for_type(kind.media_type)
        try:
            blob = await self._blobs.put(rejoin(head, stream), max_bytes=limit)
        except BlobTooLarge:
            return Failure(DomainError(ErrorCode.PAYLOAD_TOO_LARGE,
                                       f"{kind.media_type} files are limited to {limit} bytes"))
        workspace = workspace_id() if callable(workspace_id) else workspace_id
        if not _fits_workspace(workspace):
            await discard_if_unused(self._uow, self._blobs, blob.key)
            return Failure(_bad_workspace())
        async with self._uow() as uow:
            outcome = await self._record(uow, actor, blob, kind, filename, workspace)
            if isinstance(outcome, Success) and outcome.unwrap().created:
                await uow.commit()
        if isinstance(outcome, Failure):
            await discard_if_unused(self._uow, self._blobs, blob.key)
        return outcome

    async def _record(self, uow: UnitOfWork, actor: Actor, blob: StoredBlob, kind: Sniffed,
                      filename: str | None, workspace_id: str | None) -> Result[UploadOutcome, DomainError]:
        user = await uow.users.get(actor.user_id)
        if user is None:
            return Failure(unauthenticated())
        now = self._clock.now()
        asset = Asset(
            id=self._ids.new_id(), owner_id=user.id, media_type=kind.media_type,
            source=AssetSource.UPLOADED, mime_type=kind.mime_type, size_bytes=blob.size,
            sha256=blob.sha256, storage_key=blob.key, created_at=now, last_accessed_at=now,
            workspace_id=workspace_id, original_filename=safe_filename(filename),
        )
        # Adding first makes dedup (and a concurrent upload of the same bytes) win over the
        # quota: the caller already pays for these bytes.
        if not await uow.assets.add(asset):
            existing = await uow.assets.find_by_sha(user.id, blob.sha256)
            if existing is None:
                return Failure(conflict("the same file is changing right now; try again"))
            return Success(UploadOutcome(existing, created=False))
        if not await uow.users.try_add_storage(user.id, blob.size, user.quota.max_storage_bytes):
            return Failure(quota_exceeded(f"storage limit of {user.quota.max_storage_bytes} bytes reached"))
        await uow.usage.add(user.id, utc_day(now), UsageDelta(assets_created=1, bytes_stored=blob.size))
        await self._audit.record(uow, actor.user_id, "asset.upload", "asset", asset.id,
                                 sha256=blob.sha256, size_bytes=blob.size, media_type=str(kind.media_type))
        return Success(UploadOutcome(asset, created=True))


def _fits_workspace(workspace_id: str | None) -> bool:
    return workspace_id is None or 1 <= len(workspace_id) <= MAX_WORKSPACE_ID


def _bad_workspace() -> DomainError:
    return validation(f"workspace_id must be 1-{MAX_WORKSPACE_ID} characters", "workspace_id")


async def read_head(stream: AsyncIterator[bytes], size: int) -> bytes:
    """At least `size` bytes of the head (or the whole file if shorter), across small chunks."""
    head = bytearray()
    while len(head) < size:
        chunk = await anext(stream, None)
        if chunk is None:
            break
        head += chunk
    return bytes(head)


async def rejoin(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk
