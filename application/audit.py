"""One audit entry per state change, written in the same unit of work as the change."""

from __future__ import annotations

from typing import Any

from domain.audit import AuditEntry
from domain.ports import Clock, IdGenerator, UnitOfWork


class AuditTrail:
    def __init__(self, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def entry(self, actor_id: str | None, action: str, resource_type: str, resource_id: str,
              **details: Any) -> AuditEntry:
        return AuditEntry(
            id=self._ids.new_id(), at=self._clock.now(), actor_id=actor_id, action=action,
            resource_type=resource_type, resource_id=resource_id, details=details,
        )

    async def record(self, uow: UnitOfWork, actor_id: str | None, action: str, resource_type: str,
                     resource_id: str, **details: Any) -> None:
        await uow.audit.add(self.entry(actor_id, action, resource_type, resource_id, **details))
