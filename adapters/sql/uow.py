"""The SQL unit of work: one connection and one transaction per use of the block."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.security.secret_box import SecretBox
from adapters.sql.accounts import SqlAccountRepository
from adapters.sql.api_keys import SqlApiKeyRepository
from adapters.sql.assets import SqlAssetRepository, SqlLineageRepository, SqlProviderUploadRepository
from adapters.sql.audit import SqlAuditRepository
from adapters.sql.jobs import SqlJobRepository, SqlSubmissionRepository
from adapters.sql.ledger import SqlLedgerRepository, SqlUsageRepository
from adapters.sql.users import SqlSessionRepository, SqlUserRepository
from adapters.sql.webhooks import SqlWebhookRepository
from domain.ports import (
    AccountRepository,
    ApiKeyRepository,
    AssetRepository,
    AuditRepository,
    JobRepository,
    LedgerRepository,
    LineageRepository,
    ProviderUploadRepository,
    SessionRepository,
    SubmissionRepository,
    UsageRepository,
    UserRepository,
    WebhookRepository,
)


class SqlUnitOfWork:
    """Begins on enter; leaving the block rolls back whatever was not committed."""

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
    api_keys: ApiKeyRepository

    def __init__(self, engine: AsyncEngine, box: SecretBox | None = None) -> None:
        self._engine = engine
        self._box = box
        self._conn: AsyncConnection | None = None

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
        self.jobs = SqlJobRepository(conn)
        self.submissions = SqlSubmissionRepository(conn)
        self.accounts = SqlAccountRepository(conn, self._box)
        self.assets = SqlAssetRepository(conn)
        self.uploads = SqlProviderUploadRepository(conn)
        self.lineage = SqlLineageRepository(conn)
        self.ledger = SqlLedgerRepository(conn)
        self.usage = SqlUsageRepository(conn)
        self.audit = SqlAuditRepository(conn)
        self.webhooks = SqlWebhookRepository(conn)
        self.api_keys = SqlApiKeyRepository(conn)
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
        await self._connection().commit()

    async def rollback(self) -> None:
        await self._connection().rollback()

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        return self._conn


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, box: SecretBox | None = None) -> None:
        self.engine = engine
        self.box = box

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.box)
