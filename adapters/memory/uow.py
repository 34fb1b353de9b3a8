"""The in-memory unit of work: serial transactions over an InMemoryStore, with rollback."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.memory.accounts import InMemoryAccountRepository
from adapters.memory.api_keys import InMemoryApiKeyRepository
from adapters.memory.assets import (
    InMemoryAssetRepository,
    InMemoryLineageRepository,
    InMemoryProviderUploadRepository,
)
from adapters.memory.audit import InMemoryAuditRepository, InMemoryWebhookRepository
from adapters.memory.jobs import InMemoryJobRepository, InMemorySubmissionRepository
from adapters.memory.ledger import InMemoryLedgerRepository, InMemoryUsageRepository
from adapters.memory.store import InMemoryStore, MemoryState
from adapters.memory.users import InMemorySessionRepository, InMemoryUserRepository
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


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._snapshot: MemoryState | None = None
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
        self.api_keys: ApiKeyRepository = InMemoryApiKeyRepository(state)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._snapshot = self._store.state.snapshot()
        self.committed = False
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._snapshot is not None:  # back to the last commit: later writes are dropped
                self._store.state.restore(self._snapshot)
        finally:
            self._snapshot = None
            self._store.lock.release()

    async def commit(self) -> None:
        self._snapshot = self._store.state.snapshot()
        self.committed = True

    async def rollback(self) -> None:
        if self._snapshot is not None:
            self._store.state.restore(self._snapshot)
            self._snapshot = self._store.state.snapshot()
        self.committed = False


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)
