"""The in-memory unit of work: serial transactions over an InMemoryStore, with rollback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from adapters import uow_pipeline, uow_steps
from adapters.memory.accounts import InMemoryAccountRepository
from adapters.memory.api_keys import InMemoryApiKeyRepository
from adapters.memory.assets import (
    InMemoryAssetRepository,
    InMemoryLineageRepository,
    InMemoryProviderUploadRepository,
)
from adapters.memory.audit import InMemoryAuditRepository, InMemoryWebhookRepository
from adapters.memory.jobs import InMemorySubmissionRepository
from adapters.memory.ledger import InMemoryLedgerRepository, InMemoryUsageRepository
from adapters.memory.models import InMemoryModelRepository
from adapters.memory.outbound import (
    InMemoryWebhookDeliveryRepository,
    InMemoryWebhookEndpointRepository,
    OutboxJobRepository,
)
from adapters.memory.store import InMemoryStore
from adapters.memory.users import InMemorySessionRepository, InMemoryUserRepository
from domain.accounts import ProviderAccount, SelectionPolicy
from domain.assets import Asset
from domain.credentials import Credential
from domain.dispatch import ClaimedJobs
from domain.jobs import HeldJob, HeldState, Job
from domain.outbound import TerminalJob
from domain.pagination import Cursor, Page
from domain.ports import (
    AccountRepository,
    ApiKeyRepository,
    AssetFilter,
    AssetRepository,
    AuditRepository,
    Authorized,
    CompleteStatus,
    Completion,
    CreateOutcome,
    JobDraft,
    JobFilter,
    JobRepository,
    Leased,
    LedgerRepository,
    LineageRepository,
    ModelRepository,
    ProviderUploadRepository,
    Relations,
    SessionRepository,
    ShownJob,
    Standing,
    SubmissionRepository,
    UsageRepository,
    UserRepository,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
    WebhookRepository,
)
from domain.providers import ProviderSubmission


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._others: dict[str, Any] | None = None
        self.committed = False
        self._ended: list[TerminalJob] = []
        state = store.state
        self.users: UserRepository = InMemoryUserRepository(state)
        self.sessions: SessionRepository = InMemorySessionRepository(state)
        self.jobs: JobRepository = OutboxJobRepository(state, self._ended)
        self.submissions: SubmissionRepository = InMemorySubmissionRepository(state)
        self.accounts: AccountRepository = InMemoryAccountRepository(state)
        self.assets: AssetRepository = InMemoryAssetRepository(state)
        self.uploads: ProviderUploadRepository = InMemoryProviderUploadRepository(state)
        self.lineage: LineageRepository = InMemoryLineageRepository(state)
        self.ledger: LedgerRepository = InMemoryLedgerRepository(state)
        self.usage: UsageRepository = InMemoryUsageRepository(state)
        self.audit: AuditRepository = InMemoryAuditRepository(state)
        self.webhooks: WebhookRepository = InMemoryWebhookRepository(state)
        self.hook_endpoints: WebhookEndpointRepository = InMemoryWebhookEndpointRepository(state)
        self.hook_deliveries: WebhookDeliveryRepository = InMemoryWebhookDeliveryRepository(state)
        self.api_keys: ApiKeyRepository = InMemoryApiKeyRepository(state)
        self.models: ModelRepository = InMemoryModelRepository(state)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        state = self._store.state
        state.journal.begin()
        self._others = state.snapshot_others()
        self.committed = False
        self._ended.clear()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            state = self._store.state
            state.journal.end()  # back to the last commit: later writes are dropped
            if self._others is not None:
                state.restore_others(self._others)
        finally:
            self._others = None
            self._store.lock.release()

    async def commit(self) -> None:
        if self._ended:  # the outbox: in the same transaction as the jobs that ended
            await self.hook_deliveries.enqueue(self._ended)
            self._ended.clear()
        state = self._store.state
        state.journal.commit()
        self._others = state.snapshot_others()
        self.committed = True

    async def rollback(self) -> None:
        self._ended.clear()
        state = self._store.state
        state.journal.rollback()
        if self._others is not None:
            state.restore_others(self._others)
            self._others = state.snapshot_others()
        self.committed = False


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    async def create_job(self, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
        async with self() as uow:
            return await uow_steps.create_job(uow, credential, draft, now)

    async def read_relations(self, credential: Credential, asset_ids: Sequence[str], parent_job_id: str | None,
                             idempotency_key: str | None, now: datetime) -> Authorized[Relations]:
        async with self() as uow:
            return await uow_steps.read_relations(uow, credential, asset_ids, parent_job_id, idempotency_key, now)

    async def read_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
        async with self() as uow:
            return await uow_steps.read_job(uow, credential, job_id, now)

    async def read_shown_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[ShownJob]:
        async with self() as uow:
            return await uow_steps.read_shown_job(uow, credential, job_id, now)

    async def read_asset(self, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
        async with self() as uow:
            return await uow_steps.read_asset(uow, credential, asset_id, now)

    async def read_route_accounts(self, provider_ids: Sequence[str], user_id: str) -> list[ProviderAccount]:
        async with self() as uow:
            return await uow_steps.read_route_accounts(uow, provider_ids, user_id)

    async def read_standing(self, credential: Credential, now: datetime) -> Authorized[Standing]:
        async with self() as uow:
            return await uow_steps.read_standing(uow, credential, now)

    async def page_jobs(self, credential: Credential, where: JobFilter, after: Cursor | None, limit: int,
                        now: datetime) -> Authorized[Page[Job]]:
        async with self() as uow:
            return await uow_steps.page_jobs(uow, credential, where, after, limit, now)

    async def page_assets(self, credential: Credential, where: AssetFilter, after: Cursor | None, limit: int,
                          now: datetime) -> Authorized[Page[Asset]]:
        async with self() as uow:
            return await uow_steps.page_assets(uow, credential, where, after, limit, now)

    async def claim(self, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                    selection: SelectionPolicy) -> ClaimedJobs:
        async with self() as uow:
            return await uow_pipeline.claim(uow, now, lease_token, lease_until, limit, selection)

    async def read_leased(self, job_id: str, lease_token: str) -> Leased | None:
        async with self() as uow:
            return await uow_pipeline.read_leased(uow, job_id, lease_token)

    async def record_submission(self, job: Job, expected_version: int, submission: ProviderSubmission) -> bool:
        async with self() as uow:
            return await uow_pipeline.record_submission(uow, job, expected_version, submission)

    async def attach(self, job: Job, expected_version: int, provider_job_id: str) -> bool:
        async with self() as uow:
            return await uow_pipeline.attach(uow, job, expected_version, provider_job_id)

    async def complete_job(self, completion: Completion) -> CompleteStatus:
        async with self() as uow:
            return await uow_pipeline.complete_job(uow, completion)

    async def renew_leases(self, held: Sequence[HeldJob], lease_until: datetime,
                           renew_before: datetime) -> dict[str, HeldState]:
        async with self() as uow:
            return await uow_pipeline.renew_leases(uow, held, lease_until, renew_before)

    async def release_leases(self, held: Sequence[HeldJob], now: datetime) -> int:
        async with self() as uow:
            return await uow_pipeline.release_leases(uow, held, now)
