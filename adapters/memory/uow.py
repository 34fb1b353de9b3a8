"""The in-memory unit of work: serial transactions over an InMemoryStore, with rollback."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from adapters.memory.accounts import InMemoryAccountRepository
from adapters.memory.assets import (
    InMemoryAssetRepository,
    InMemoryLineageRepository,
    InMemoryProviderUploadRepository,
)
from adapters.memory.audit import InMemoryAuditRepository, InMemoryWebhookRepository
from adapters.memory.jobs import InMemoryJobRepository, InMemorySubmissionRepository
from adapters.memory.ledger import InMemoryLedgerRepository, InMemoryUsageRepository
from adapters.memory.store import InMemoryStore
from adapters.memory.users import InMemorySessionRepository, InMemoryUserRepository
from domain.ports import (
    AccountRepository,
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


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._others: dict[str, Any] | None = None
        self.committed = False
        state = store.state
        self.users: UserRepository = InMemoryUserRepository(state)
        self.sessions: SessionRepository = InMemorySessionRepository(state)
        self.jobs: JobRepository = InMemoryJobRepository(state)
        self.submissions: SubmissionRepository = InMemorySubmissionRepository(state)
        self.accounts: AccountRepository = InMemoryAccountRepository(state)
        self.assets: AssetRepository = InMemoryAssetRepository(state)
        self.uploads: ProviderUploadRepository = InMemoryProviderUploadRepository(state)
        self.lineage: LineageRepository = InMemoryLineageRepository(state)
        self.ledger: LedgerRepository = InMemoryLedgerRepository(state)
        self.usage: UsageRepository = InMemoryUsageRepository(state)
        self.audit: AuditRepository = InMemoryAuditRepository(state)
        self.webhooks: WebhookRepository = InMemoryWebhookRepository(state)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        state = self._store.state
        state.journal.begin()
        self._others = state.snapshot_others()
        self.committed = False
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
        state = self._store.state
        state.journal.commit()
        self._others = state.snapshot_others()
        self.committed = True

    async def rollback(self) -> None:
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
