"""One in-memory pixrelay for the asset, lineage, account and admin use cases."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from returns.result import Failure, Result

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.store import MemoryState
from adapters.memory.system import ManualClock, SequentialIds
from adapters.memory.uow import InMemoryUnitOfWorkFactory
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.accounts.admin import (
    AddAccountCredits,
    CreateAccount,
    DeleteAccount,
    GetAccount,
    ListAccounts,
    UpdateAccount,
)
from application.accounts.private import AddPrivateAccount, DeletePrivateAccount, ListPrivateAccounts
from application.admin.audit_log import ListAudit
from application.admin.stats import ProviderStats
from application.assets.delete import DeleteAsset
from application.assets.lineage import GetLineage
from application.assets.queries import AssetContent, GetAsset, ListAssets
from application.assets.upload import UploadAsset
from application.audit import AuditTrail
from application.policy import AssetPolicy
from domain.assets import Asset, AssetSource, MediaType, UploadLimits
from domain.errors import DomainError, ErrorCode
from domain.quotas import ADMIN_DEFAULT, QuotaPolicy
from domain.users import Role, User

T = TypeVar("T")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (16).to_bytes(4, "big") * 2 + bytes(range(42))  # 16x16
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(40))
MP4 = b"\x00\x00\x00\x18ftypisom" + bytes(range(60))
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(range(30))
SMALL_LIMITS = UploadLimits(image_bytes=1000, video_bytes=5000, audio_bytes=1000)


@dataclass(frozen=True)
class Caller:
    """Satisfies application.actor.Actor."""

    user_id: str
    is_admin: bool = False


def failure_code(result: Result[Any, DomainError]) -> ErrorCode:
    assert isinstance(result, Failure), result
    error: DomainError = result.failure()
    return error.code


async def stream(data: bytes, chunk: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        await asyncio.sleep(0)  # let concurrent uploads interleave
        yield data[start:start + chunk]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class World:
    def __init__(self, runner: asyncio.Runner, limits: UploadLimits = SMALL_LIMITS) -> None:
        self._runner = runner
        self.clock = ManualClock()
        self.ids = SequentialIds()
        self.uow = InMemoryUnitOfWorkFactory()
        self.blobs = InMemoryBlobStore()
        self.providers = StaticProviderRegistry([SimProvider(self.clock.now)])
        self.policy = AssetPolicy(limits=limits, content_url_seconds=120)
        audit = AuditTrail(self.clock, self.ids)
        uow, clock, ids = self.uow, self.clock, self.ids
        self.upload = UploadAsset(uow, self.blobs, clock, ids, audit, self.policy)
        self.get_asset = GetAsset(uow, clock)
        self.list_assets = ListAssets(uow, clock)
        self.content = AssetContent(uow, self.blobs, self.policy)
        self.delete_asset = DeleteAsset(uow, self.blobs, clock, audit)
        self.lineage = GetLineage(uow)
        self.create_account = CreateAccount(uow, self.providers, clock, ids, audit)
        self.list_accounts = ListAccounts(uow)
        self.get_account = GetAccount(uow)
        self.update_account = UpdateAccount(uow, self.providers, audit)
        self.delete_account = DeleteAccount(uow, audit)
        self.add_credits = AddAccountCredits(uow, audit)
        self.add_private = AddPrivateAccount(uow, self.providers, clock, ids, audit)
        self.list_private = ListPrivateAccounts(uow)
        self.delete_private = DeletePrivateAccount(uow, audit)
        self.list_audit = ListAudit(uow)
        self.stats = ProviderStats(uow, self.providers, clock)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    @property
    def state(self) -> MemoryState:
        return self.uow.store.state

    def actions(self) -> list[str]:
        return [entry.action for entry in self.state.audit]

    def user(self, name: str, quota: QuotaPolicy | None = None, admin: bool = False) -> Caller:
        role = Role.ADMIN if admin else Role.USER
        self.state.users[name] = User(
            id=name, email=f"{name}@example.com", username=name, password_hash="x",
            created_at=self.clock.now(), role=role,
            quota=quota or (ADMIN_DEFAULT if admin else QuotaPolicy()),
        )
        return Caller(name, is_admin=admin)

    def stored_bytes(self, user_id: str) -> int:
        return self.state.users[user_id].storage_bytes

    def put(self, caller: Caller, data: bytes, filename: str | None = None,
            workspace_id: str | None = None) -> Asset:
        """Upload that must succeed."""
        outcome = self.run(self.upload(caller, stream(data), filename, workspace_id)).unwrap()
        return outcome.asset

    def generated(self, owner: str, seed: int, job_id: str = "job") -> Asset:
        """A generated asset written straight into the store (what the pipeline makes)."""
        data = PNG + seed.to_bytes(4, "big")
        digest = sha(data)
        asset = Asset(
            id=self.ids.new_id(), owner_id=owner, media_type=MediaType.IMAGE, source=AssetSource.GENERATED,
            mime_type="image/png", size_bytes=len(data), sha256=digest,
            storage_key=f"sha256/{digest[:2]}/{digest[2:4]}/{digest}", created_at=self.clock.advance(1),
            last_accessed_at=self.clock.now(), provider_id="sim", job_id=job_id,
        )
        self.state.assets[asset.id] = asset
        return asset
