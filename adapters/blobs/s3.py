"""BlobStore on S3 (or any S3-compatible endpoint) through aioboto3."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.blobs.keys import CHUNK_SIZE, blob_key, check_key
from domain.ports import BlobTooLarge, StoredBlob

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB, the last one excepted
_MISSING = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})


class S3BlobStore:
    """Blobs live at `sha256/ab/cd/<sha>` in one bucket. A put streams parts of 8 MiB into
    a multipart upload at `tmp/<uuid>` while hashing, then copies the object to its
    content-addressed key and deletes the temporary one; a blob that fits in one part is
    written straight to its key. Memory stays at about one part per put.

    Give the bucket lifecycle rules for `tmp/` and incomplete multipart uploads: a process
    killed mid-put cannot clean up after itself."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @classmethod
    @asynccontextmanager
    async def connect(cls, endpoint_url: str | None, bucket: str, region: str = "us-east-1",
                      access_key: str | None = None,
                      secret_key: str | None = None) -> AsyncIterator[S3BlobStore]:
        """Open a client, make sure the bucket exists, and close the client on exit."""
        # Self-hosted endpoints (moto, MinIO) rarely resolve bucket subdomains.
        config = Config(s3={"addressing_style": "path"}) if endpoint_url else None
        session = aioboto3.Session()
        async with session.client("s3", endpoint_url=endpoint_url, region_name=region,
                                  aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                  config=config) as client:
            store = cls(client, bucket)
            await store._ensure_bucket(region)
            yield store

    async def put(self, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredBlob:
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        upload: _MultipartUpload | None = None
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge(f"more than {max_bytes} bytes")
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= PART_SIZE:
                    if upload is None:
                        upload = await _MultipartUpload.start(self._client, self._bucket)
                    await upload.send(bytes(buffer))
                    buffer.clear()
            key = blob_key(digest.hexdigest())
            if upload is None:
                if not await self.exists(key):
                    await self._client.put_object(Bucket=self._bucket, Key=key, Body=bytes(buffer))
            else:
                if buffer:
                    await upload.send(bytes(buffer))
                await upload.complete()
                if not await self.exists(key):
                    await self._client.copy_object(
                        Bucket=self._bucket, Key=key,
                        CopySource={"Bucket": self._bucket, "Key": upload.key})
        finally:
            if upload is not None:
                await upload.discard()
        return StoredBlob(key=key, sha256=digest.hexdigest(), size=size)

    def open(self, key: str) -> AsyncIterator[bytes]:
        return self._read(check_key(key))

    async def _read(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING:
                raise KeyError(key) from None
            raise
        body = response["Body"]
        async with body:  # entering gives the raw aiohttp response; keep the wrapper
            async for chunk in body.iter_chunks(CHUNK_SIZE):
                yield chunk

    async def exists(self, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=self._bucket, Key=check_key(key))
        except ClientError as error:
            if _error_code(error) in _MISSING:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self._bucket, Key=check_key(key))

    async def presigned_url(self, key: str, expires_seconds: int, mime_type: str,
                            filename: str | None = None) -> str | None:
        params = {"Bucket": self._bucket, "Key": check_key(key), "ResponseContentType": mime_type}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        url: str = await self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds)
        return url

    async def _ensure_bucket(self, region: str) -> None:
        try:
            await self._client.head_bucket(Bucket=self._bucket)
            return
        except ClientError as error:
            if _error_code(error) not in _MISSING:
                raise
        location = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            await self._client.create_bucket(Bucket=self._bucket, **location)
        except ClientError as error:
            if _error_code(error) != "BucketAlreadyOwnedByYou":  # another replica won the race
                raise


class _MultipartUpload:
    """One multipart upload to a temporary key; `discard` undoes whatever it left."""

    def __init__(self, client: Any, bucket: str, key: str, upload_id: str) -> None:
        self.key = key
        self._client = client
        self._bucket = bucket
        self._upload_id = upload_id
        self._parts: list[dict[str, Any]] = []
        self._completed = False

    @classmethod
    async def start(cls, client: Any, bucket: str) -> _MultipartUpload:
        key = f"tmp/{uuid.uuid4().hex}"
        response = await client.create_multipart_upload(Bucket=bucket, Key=key)
        return cls(client, bucket, key, response["UploadId"])

    async def send(self, part: bytes) -> None:
        number = len(self._parts) + 1
        response = await self._client.upload_part(
            Bucket=self._bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=part)
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})

    async def complete(self) -> None:
        await self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=self.key, UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts})
        self._completed = True

    async def discard(self) -> None:
        """Delete the temporary object, or abort the upload if it never completed.
        Logged, not raised: the put's own outcome (or exception) is what matters."""
        try:
            if self._completed:
                await self._client.delete_object(Bucket=self._bucket, Key=self.key)
            else:
                await self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)
        except (ClientError, BotoCoreError) as error:
            log.warning("s3 temporary upload %s not cleaned up: %s", self.key, error)


def content_disposition(filename: str) -> str:
    """`inline` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
