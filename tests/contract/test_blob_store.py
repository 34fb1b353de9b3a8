"""The BlobStore contract, passed by every adapter: memory, local disk, S3 (moto)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import aioboto3
import httpx
import pytest

from adapters.blobs.disk import LocalDiskBlobStore
from adapters.blobs.keys import CHUNK_SIZE, blob_key
from adapters.blobs.s3 import PART_SIZE, S3BlobStore
from adapters.memory.blobs import InMemoryBlobStore
from domain.ports import BlobStore, BlobTooLarge

MiB = 1024 * 1024


@dataclass
class Subject:
    store: BlobStore
    inventory: Callable[[], Coroutine[Any, Any, set[str]]]
    """Everything the backend holds, temporaries and unfinished uploads included."""
    presigns: bool


@asynccontextmanager
async def memory_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    store = InMemoryBlobStore()

    async def inventory() -> set[str]:
        return set(store.keys())

    yield Subject(store, inventory, presigns=False)


@asynccontextmanager
async def disk_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    root: Path = request.getfixturevalue("tmp_path") / "blobs"

    def files() -> set[str]:
        return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    async def inventory() -> set[str]:
        return await asyncio.to_thread(files)

    yield Subject(LocalDiskBlobStore(root), inventory, presigns=False)


@asynccontextmanager
async def s3_subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    endpoint: str = request.getfixturevalue("s3_endpoint")
    bucket = f"pixrelay-test-{uuid4().hex[:16]}"
    credentials = {"region_name": "eu-central-1", "aws_access_key_id": "test",
                   "aws_secret_access_key": "test"}
    async with (
        S3BlobStore.connect(endpoint, bucket, "eu-central-1", "test", "test") as store,
        aioboto3.Session().client("s3", endpoint_url=endpoint, **credentials) as raw,
    ):
        async def inventory() -> set[str]:
            listed = await raw.list_objects_v2(Bucket=bucket)
            uploads = await raw.list_multipart_uploads(Bucket=bucket)
            return ({item["Key"] for item in listed.get("Contents", [])}
                    | {f"upload:{item['Key']}" for item in uploads.get("Uploads", [])})

        yield Subject(store, inventory, presigns=True)


SUBJECTS = {"memory": memory_subject, "disk": disk_subject, "s3": s3_subject}


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(params=list(SUBJECTS))
def subject(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[Subject]:
    stack = AsyncExitStack()
    subject = runner.run(stack.enter_async_context(SUBJECTS[request.param](request)))
    try:
        yield subject
    finally:
        runner.run(stack.aclose())


async def chunked(data: bytes, size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def failing_after(data: bytes) -> AsyncIterator[bytes]:
    async for chunk in chunked(data):
        yield chunk
    raise ConnectionResetError("the source went away")


async def read_all(chunks: AsyncIterator[bytes]) -> tuple[bytes, int]:
    """The bytes and the largest chunk seen."""
    parts = [chunk async for chunk in chunks]
    return b"".join(parts), max(map(len, parts), default=0)


def test_put_then_open_gives_the_bytes_back_with_hash_and_size(subject: Subject,
                                                               runner: asyncio.Runner) -> None:
    data = os.urandom(200_000)
    stored = runner.run(subject.store.put(chunked(data, 7_000), max_bytes=len(data)))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.key == blob_key(stored.sha256)
    assert runner.run(read_all(subject.store.open(stored.key)))[0] == data
    assert runner.run(subject.store.exists(stored.key))


def test_the_same_bytes_twice_give_one_object(subject: Subject, runner: asyncio.Runner) -> None:
    data = b"same bytes" * 1000
    first = runner.run(subject.store.put(chunked(data), max_bytes=MiB))
    second = runner.run(subject.store.put(chunked(data, 333), max_bytes=MiB))
    assert first == second
    assert runner.run(subject.inventory()) == {first.key}


def test_concurrent_puts_of_the_same_bytes_agree(subject: Subject, runner: asyncio.Runner) -> None:
    data = os.urandom(300_000)

    async def both() -> set[str]:
        stored = await asyncio.gather(*(subject.store.put(chunked(data), MiB) for _ in range(3)))
        return {blob.key for blob in stored}

    assert runner.run(both()) == {blob_key(hashlib.sha256(data).hexdigest())}
    assert runner.run(subject.inventory()) == {blob_key(hashlib.sha256(data).hexdigest())}


@pytest.mark.parametrize(("size", "max_bytes"), [(150, 100), (10 * MiB + 1, 10 * MiB)],
                         ids=["small", "past-one-part"])
def test_too_large_raises_and_leaves_nothing(subject: Subject, runner: asyncio.Runner,
                                            size: int, max_bytes: int) -> None:
    assert max_bytes < size
    with pytest.raises(BlobTooLarge):
        runner.run(subject.store.put(chunked(os.urandom(size)), max_bytes=max_bytes))
    assert runner.run(subject.inventory()) == set()


def test_exactly_max_bytes_is_accepted(subject: Subject, runner: asyncio.Runner) -> None:
    stored = runner.run(subject.store.put(chunked(b"x" * 100), max_bytes=100))
    assert stored.size == 100


def test_a_failing_source_leaves_nothing(subject: Subject, runner: asyncio.Runner) -> None:
    with pytest.raises(ConnectionResetError):
        runner.run(subject.store.put(failing_after(os.urandom(PART_SIZE + MiB)), max_bytes=64 * MiB))
    assert runner.run(subject.inventory()) == set()


def test_an_empty_stream_is_an_empty_blob(subject: Subject, runner: asyncio.Runner) -> None:
    stored = runner.run(subject.store.put(chunked(b""), max_bytes=0))
    assert (stored.sha256, stored.size) == (hashlib.sha256(b"").hexdigest(), 0)
    assert runner.run(read_all(subject.store.open(stored.key)))[0] == b""
    assert runner.run(subject.store.exists(stored.key))


def test_a_large_stream_round_trips_in_bounded_chunks(subject: Subject, runner: asyncio.Runner) -> None:
    data = os.urandom(20 * MiB)
    stored = runner.run(subject.store.put(chunked(data), max_bytes=len(data)))
    assert (stored.sha256, stored.size) == (hashlib.sha256(data).hexdigest(), len(data))
    back, largest_chunk = runner.run(read_all(subject.store.open(stored.key)))
    assert back == data
    assert largest_chunk <= CHUNK_SIZE
    assert runner.run(subject.inventory()) == {stored.key}


def test_delete_removes_and_is_idempotent(subject: Subject, runner: asyncio.Runner) -> None:
    stored = runner.run(subject.store.put(chunked(b"short-lived"), max_bytes=100))
    runner.run(subject.store.delete(stored.key))
    assert not runner.run(subject.store.exists(stored.key))
    runner.run(subject.store.delete(stored.key))
    assert runner.run(subject.inventory()) == set()


def test_opening_a_missing_key_raises_key_error(subject: Subject, runner: asyncio.Runner) -> None:
    missing = blob_key(hashlib.sha256(b"never stored").hexdigest())
    assert not runner.run(subject.store.exists(missing))
    with pytest.raises(KeyError):
        runner.run(read_all(subject.store.open(missing)))


SHA = hashlib.sha256(b"x").hexdigest()
MALFORMED_KEYS = [
    "../../etc/passwd",
    "/etc/passwd",
    f"sha256/{SHA[:2]}/{SHA[2:4]}/../../../{SHA}",
    f"sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}/..",
    f"/sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}",
    f"sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}.png",
    f"sha256/{SHA[:2]}/{SHA[2:4]}/{SHA.upper()}",
    f"sha256/00/00/{SHA}",
    f"sha256\\{SHA[:2]}\\{SHA[2:4]}\\{SHA}",
    "",
]


@pytest.mark.parametrize("key", MALFORMED_KEYS)
def test_malformed_keys_are_rejected(subject: Subject, runner: asyncio.Runner, key: str) -> None:
    with pytest.raises(ValueError):
        runner.run(read_all(subject.store.open(key)))
    with pytest.raises(ValueError):
        runner.run(subject.store.exists(key))
    with pytest.raises(ValueError):
        runner.run(subject.store.delete(key))


def test_presigned_url_serves_the_bytes_where_the_store_can_make_one(
        subject: Subject, runner: asyncio.Runner) -> None:
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
    stored = runner.run(subject.store.put(chunked(data), max_bytes=MiB))
    url = runner.run(subject.store.presigned_url(stored.key, 60, "image/png", "cat «1».png"))
    if not subject.presigns:
        assert url is None
        return
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert "filename*=UTF-8''cat%20%C2%AB1%C2%BB.png" in response.headers["content-disposition"]


def test_disk_store_keeps_blobs_under_its_root(tmp_path: Path) -> None:
    store = LocalDiskBlobStore(tmp_path / "blobs")
    stored = asyncio.run(store.put(chunked(b"on disk"), max_bytes=100))
    assert (tmp_path / "blobs" / stored.key).read_bytes() == b"on disk"
    assert not any((tmp_path / "blobs" / ".tmp").iterdir())
