"""The SQL unit of work: one connection and one transaction per use of the block."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters import uow_pipeline, uow_steps
from adapters.security.secret_box import SecretBox
from adapters.sql.accounts import SqlAccountRepository
from adapters.sql.api_keys import SqlApiKeyRepository
from adapters.sql.assets import SqlAssetRepository, SqlLineageRepository, SqlProviderUploadRepository
from adapters.sql.audit import SqlAuditRepository
from adapters.sql.jobs import SqlSubmissionRepository
from adapters.sql.ledger import SqlLedgerRepository, SqlUsageRepository
from adapters.sql.models import SqlModelRepository
from adapters.sql.outbound import (
    OutboxJobRepository,
    SqlWebhookDeliveryRepository,
    SqlWebhookEndpointRepository,
)
from adapters.sql.pipeline_pg import PostgresPipeline
from adapters.sql.pipeline_sqlite import SqlitePipeline
from adapters.sql.postgres_steps import PostgresSteps
from adapters.sql.sqlite_steps import SqliteSteps
from adapters.sql.users import SqlSessionRepository, SqlUserRepository
from adapters.sql.webhooks import SqlWebhookRepository
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


class SqlUnitOfWork:
    """Begins on enter; leaving the block rolls back whatever was not committed.

    The transactional outbox: jobs saved in a terminal state are noted, and `commit` writes
    their webhook deliveries (one INSERT ... SELECT) inside the transaction, before COMMIT."""

    # Typed as the ports: the Protocol's attributes are mutable, so they must match exactly.
    users: UserRepository
    sessions: SessionRepository
    jobs: JobRepository
    submissions: SubmissionRepository
    accounts: AccountRepository
    assets: AssetRepository
    uploads: ProviderUploadRepository
    lineage: LineageRepository
    ledger: LedgerRepository
    usage: UsageRepository
    audit: AuditRepository
    webhooks: WebhookRepository
    hook_endpoints: WebhookEndpointRepository
    hook_deliveries: WebhookDeliveryRepository
    api_keys: ApiKeyRepository
    models: ModelRepository

    def __init__(self, engine: AsyncEngine, box: SecretBox | None = None) -> None:
        self._engine = engine
        self._box = box
        self._conn: AsyncConnection | None = None
        self._ended: list[TerminalJob] = []

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        try:
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.users = SqlUserRepository(conn)
        self.sessions = SqlSessionRepository(conn)
        self._ended = []
        self.jobs = OutboxJobRepository(conn, self._ended)
        self.submissions = SqlSubmissionRepository(conn)
        self.accounts = SqlAccountRepository(conn, self._box)
        self.assets = SqlAssetRepository(conn)
        self.uploads = SqlProviderUploadRepository(conn)
        self.lineage = SqlLineageRepository(conn)
        self.ledger = SqlLedgerRepository(conn)
        self.usage = SqlUsageRepository(conn)
        self.audit = SqlAuditRepository(conn)
        self.webhooks = SqlWebhookRepository(conn)
        self.hook_endpoints = SqlWebhookEndpointRepository(conn, self._box)
        self.hook_deliveries = SqlWebhookDeliveryRepository(conn)
        self.api_keys = SqlApiKeyRepository(conn)
        self.models = SqlModelRepository(conn)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        except Exception:
            # The connection is gone (dropped, killed, cancelled mid-query): the server
            # discards the open transaction with it. Never hand it back to the pool.
            await conn.invalidate()
        finally:
            await conn.close()

    async def commit(self) -> None:
        connection = self._connection()
        if self._ended:
            await self.hook_deliveries.enqueue(self._ended)
            self._ended.clear()
        await connection.commit()

    async def rollback(self) -> None:
        self._ended.clear()
        await self._connection().rollback()

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._conn


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, box: SecretBox | None = None) -> None:
        self.engine = engine
        self.box = box
        # The request path's atomic steps: one statement each on Postgres, one hand-off to
        # the database thread each on SQLite.
        self._steps: PostgresSteps | SqliteSteps = (
            PostgresSteps(engine) if engine.dialect.name == "postgresql" else SqliteSteps(engine))
        # The worker's hot steps: one statement each on Postgres, one hand-off to the
        # database thread each on SQLite.
        self._pipeline: PostgresPipeline | SqlitePipeline = (
            PostgresPipeline(engine, box) if engine.dialect.name == "postgresql" else SqlitePipeline(engine, box))

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.box)

    async def create_job(self, credential: Credential, draft: JobDraft, now: datetime) -> CreateOutcome:
        return await self._steps.create_job(credential, draft, now)

    async def read_relations(self, credential: Credential, asset_ids: Sequence[str], parent_job_id: str | None,
                             idempotency_key: str | None, now: datetime) -> Authorized[Relations]:
        return await self._steps.read_relations(credential, asset_ids, parent_job_id, idempotency_key, now)

    async def read_route_accounts(self, provider_ids: Sequence[str], user_id: str) -> list[ProviderAccount]:
        if isinstance(self._steps, PostgresSteps):
            return await self._steps.read_route_accounts(provider_ids, user_id)
        async with self() as uow:  # SQLite: over a unit of work, as before
            return await uow_steps.read_route_accounts(uow, provider_ids, user_id)

    async def read_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[Job]:
        return await self._steps.read_job(credential, job_id, now)

    async def read_shown_job(self, credential: Credential, job_id: str, now: datetime) -> Authorized[ShownJob]:
        return await self._steps.read_shown_job(credential, job_id, now)

    async def read_asset(self, credential: Credential, asset_id: str, now: datetime) -> Authorized[Asset]:
        return await self._steps.read_asset(credential, asset_id, now)

    async def read_standing(self, credential: Credential, now: datetime) -> Authorized[Standing]:
        return await self._steps.read_standing(credential, now)

    async def page_jobs(self, credential: Credential, where: JobFilter, after: Cursor | None, limit: int,
                        now: datetime) -> Authorized[Page[Job]]:
        return await self._steps.page_jobs(credential, where, after, limit, now)

    async def page_assets(self, credential: Credential, where: AssetFilter, after: Cursor | None, limit: int,
                          now: datetime) -> Authorized[Page[Asset]]:
        return await self._steps.page_assets(credential, where, after, limit, now)

    async def claim(self, now: datetime, lease_token: str, lease_until: datetime, limit: int,
                    selection: SelectionPolicy) -> ClaimedJobs:
        return await self._pipeline.claim(now, lease_token, lease_until, limit, selection)

    async def read_leased(self, job_id: str, lease_token: str) -> Leased | None:
        return await self._pipeline.read_leased(job_id, lease_token)

    async def record_submission(self, job: Job, expected_version: int, submission: ProviderSubmission) -> bool:
        return await self._pipeline.record_submission(job, expected_version, submission)

    async def attach(self, job: Job, expected_version: int, provider_job_id: str) -> bool:
        return await self._pipeline.attach(job, expected_version, provider_job_id)

    async def complete_job(self, completion: Completion) -> CompleteStatus:
        return await self._pipeline.complete_job(completion)

    async def renew_leases(self, held: Sequence[HeldJob], lease_until: datetime,
                           renew_before: datetime) -> dict[str, HeldState]:
        if isinstance(self._pipeline, PostgresPipeline):
            return await self._pipeline.renew_leases(held, lease_until, renew_before)
        async with self() as uow:
            return await uow_pipeline.renew_leases(uow, held, lease_until, renew_before)

    async def release_leases(self, held: Sequence[HeldJob], now: datetime) -> int:
        if isinstance(self._pipeline, PostgresPipeline):
            return await self._pipeline.release_leases(held, now)
        async with self() as uow:
            return await uow_pipeline.release_leases(uow, held, now)
