"""In-memory audit log."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.paging import paginate
from adapters.memory.store import MemoryState
from domain.audit import AuditEntry, AuditFilter
from domain.pagination import Cursor, Page


class InMemoryAuditRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, entry: AuditEntry) -> None:
        self._state.audit.append(entry)

    async def page(self, where: AuditFilter, after: Cursor | None, limit: int) -> Page[AuditEntry]:
        chosen = (e for e in self._state.audit if where.matches(e))
        return paginate(chosen, lambda e: (e.at, e.id), after, limit)


class InMemoryWebhookRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def remember(self, provider_id: str, webhook_id: str, received_at: datetime) -> bool:
        if (provider_id, webhook_id) in self._state.webhooks:
            return False
        self._state.webhooks[(provider_id, webhook_id)] = received_at
        return True
