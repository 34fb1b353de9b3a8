"""The audit log in SQL."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.paging import keyset_page
from adapters.sql.rows import convert
from adapters.sql.tables import audit_log
from domain.audit import AuditEntry, AuditFilter
from domain.pagination import Cursor, Page


def to_entry(row: Row[Any]) -> AuditEntry:
    return convert(row, AuditEntry)


class SqlAuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entry: AuditEntry) -> None:
        await self._conn.execute(audit_log.insert().values(msgspec.structs.asdict(entry)))

    async def page(self, where: AuditFilter, after: Cursor | None, limit: int) -> Page[AuditEntry]:
        log = audit_log
        query = select(log)
        for column, value in ((log.c.actor_id, where.actor_id), (log.c.action, where.action),
                              (log.c.resource_type, where.resource_type),
                              (log.c.resource_id, where.resource_id)):
            if value is not None:
                query = query.where(column == value)
        if where.since is not None:
            query = query.where(log.c.at >= where.since)
        if where.until is not None:
            query = query.where(log.c.at < where.until)
        return await keyset_page(self._conn, query, log.c.at, log.c.id, after, limit,
                                 to_entry, lambda e: (e.at, e.id))
