"""What the steps share: finding named things through the ports, and running the workers.

Everything here goes through `Wiring` (use cases, repository ports, the blob store, the
clock, the sim): never through one adapter's internals, so any wiring can run the specs.
Users are named ("alice" is alice@example.com), jobs by the name they were submitted with,
accounts by label, uploads by file name.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import AsyncIterator
from typing import Any

from returns.result import Failure, Result, Success

from adapters.media import png
from application.assets.upload import UploadAsset, UploadOutcome
from application.pipeline.run import DrainOnce
from application.users.me import GetProfile, Profile
from domain.accounts import ProviderAccount
from domain.assets import Asset
from domain.errors import DomainError, ErrorCode
from domain.jobs import Job
from domain.ledger import invariant_violations
from domain.pagination import MAX_PAGE
from domain.ports import AssetFilter, JobFilter
from domain.users import User
from tests.support.seed import ActorStub
from tests.support.wiring import Wiring

PASSWORD = "password123"  # the password tests.support.seed gives every user; registration uses it too
CHUNK = 64 * 1024
MB = 1000 * 1000


def email_of(name: str) -> str:
    return name if "@" in name else f"{name}@example.com"


def ok(result: Result[Any, DomainError]) -> Any:
    assert isinstance(result, Success), f"expected success, got {result}"
    return result.unwrap()


def refusal(result: Result[Any, DomainError]) -> DomainError:
    assert isinstance(result, Failure), f"expected a refusal, got {result}"
    error: DomainError = result.failure()
    return error


def code_of(result: Result[Any, DomainError]) -> ErrorCode:
    return refusal(result).code


# ---------------------------------------------------------------- named things


async def user_named(w: Wiring, name: str) -> User:
    async with w.ports.uow() as uow:
        user = await uow.users.get_by_email(email_of(name))
    assert user is not None, f"there is no user {name!r}"
    return user


async def actor(w: Wiring, name: str) -> ActorStub:
    user = await user_named(w, name)
    return ActorStub(user.id, user.is_admin)


async def find_job(w: Wiring, name: str) -> Job | None:
    async with w.ports.uow() as uow:
        page = await uow.jobs.page(JobFilter(), None, MAX_PAGE)
    assert page.next_cursor is None, "a scenario with that many jobs needs paging here"
    return next((job for job in page.items if job.name == name), None)


async def job_named(w: Wiring, name: str) -> Job:
    job = await find_job(w, name)
    assert job is not None, f"there is no job named {name!r}"
    return job


async def jobs_of(w: Wiring, user_name: str) -> list[Job]:
    user = await user_named(w, user_name)
    async with w.ports.uow() as uow:
        page = await uow.jobs.page(JobFilter(user_id=user.id), None, MAX_PAGE)
    return page.items


async def account_labelled(w: Wiring, label: str) -> ProviderAccount:
    async with w.ports.uow() as uow:
        found = [a for a in await uow.accounts.find() if a.label == label]
    assert len(found) == 1, f"expected one account labelled {label!r}, found {len(found)}"
    return found[0]


async def find_account(w: Wiring, label: str) -> ProviderAccount | None:
    async with w.ports.uow() as uow:
        return next((a for a in await uow.accounts.find() if a.label == label), None)


async def assets_of(w: Wiring, user_name: str) -> list[Asset]:
    """The user's live assets."""
    user = await user_named(w, user_name)
    async with w.ports.uow() as uow:
        page = await uow.assets.page(AssetFilter(owner_id=user.id), None, MAX_PAGE)
    assert page.next_cursor is None
    return page.items


async def asset_named(w: Wiring, owner: str, ref: str) -> Asset | None:
    """The first result of the job called `ref`, else the owner's live upload named `ref`."""
    job = await find_job(w, ref)
    if job is not None:
        if not job.result_asset_ids:
            return None
        async with w.ports.uow() as uow:
            return await uow.assets.get(job.result_asset_ids[0])
    return next((a for a in await assets_of(w, owner) if a.original_filename == ref), None)


async def asset_id_or_missing(w: Wiring, owner: str, ref: str) -> str:
    asset = await asset_named(w, owner, ref)
    return asset.id if asset is not None else f"missing-{ref}"


async def name_of_asset(w: Wiring, asset: Asset) -> str:
    """What a scenario calls an asset: an upload's file name, or the name of its job."""
    if asset.job_id is None:
        assert asset.original_filename is not None
        return asset.original_filename
    async with w.ports.uow() as uow:
        job = await uow.jobs.get(asset.job_id)
    assert job is not None and job.name is not None
    return job.name


async def profile(w: Wiring, name: str) -> Profile:
    user = await user_named(w, name)
    found: Profile = ok(await w.get(GetProfile)(user.id))
    return found


async def read_blob(w: Wiring, key: str) -> bytes:
    return b"".join([chunk async for chunk in w.ports.blobs.open(key)])


async def ledger_problems(w: Wiring) -> list[str]:
    async with w.ports.uow() as uow:
        transactions = await uow.ledger.transactions()
        holds = await uow.ledger.holds()
    assert transactions, "an empty ledger proves nothing"
    return invariant_violations(transactions, holds)


# ---------------------------------------------------------------- workers and time


async def drain(w: Wiring, rounds: int = 10) -> int:
    """Workers take and run due jobs until none is due (time stands still meanwhile)."""
    total = 0
    for _ in range(rounds):
        claimed = await w.get(DrainOnce)()
        if not claimed:
            break
        total += claimed
    return total


async def run_workers_for(w: Wiring, seconds: float, tick: float = 5) -> None:
    """Workers keep running while `seconds` pass, a tick at a time."""
    await drain(w)
    passed = 0.0
    while passed < seconds:
        step = min(tick, seconds - passed)
        w.clock.advance(step)
        passed += step
        await drain(w)


# ---------------------------------------------------------------- files


def _riff(kind: bytes, body: bytes) -> bytes:
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + kind + body


SIGNATURES: dict[str, bytes] = {
    "JPEG": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01",
    "GIF": b"GIF89a\x10\x00\x10\x00\x80\x00\x00",
    "WebP": _riff(b"WEBP", b"VP8 " + bytes(24))[:12],
    "MP4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00",
    "QuickTime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00",
    "WebM": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",
    "MP3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "WAV": _riff(b"WAVE", b"fmt " + bytes(24))[:12],
    "Ogg": b"OggS\x00\x02\x00\x00",
    "FLAC": b"fLaC\x00\x00\x00\x22",
    "plain text": b"Dear diary, today I uploaded a text file. ",
    "PDF": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "ZIP": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
}
EXTENSIONS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WebP", "mp4": "MP4", "mov": "QuickTime",
              "webm": "WebM", "mp3": "MP3", "wav": "WAV", "ogg": "Ogg", "flac": "FLAC", "txt": "plain text"}


def sample(file_format: str, seed: int) -> bytes:
    """A small file of that format; different seeds give different bytes."""
    if file_format == "PNG":
        return png(32, 32, seed)
    body = hashlib.sha256(str(seed).encode()).digest() * 8
    return SIGNATURES[file_format] + body


def file_bytes(filename: str) -> bytes:
    """The content of a named sample file: its type from the extension, its bytes from the name."""
    extension = filename.rsplit(".", 1)[-1].lower()
    return sample(EXTENSIONS[extension], zlib.crc32(filename.encode()))


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start:start + CHUNK]


async def padded(head: bytes, total: int) -> AsyncIterator[bytes]:
    """`total` bytes that start with `head`, streamed without building them whole."""
    yield head
    block = bytes(MB)
    left = total - len(head)
    while left > 0:
        yield block[:left]
        left -= len(block)


async def upload(w: Wiring, user_name: str, data: bytes | AsyncIterator[bytes],
                 filename: str | None) -> Result[UploadOutcome, DomainError]:
    who = await actor(w, user_name)
    chunks = chunks_of(data) if isinstance(data, bytes) else data
    return await w.get(UploadAsset)(who, chunks, filename)
