"""Webhook deliveries seen, so a replayed delivery is recognised on every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.dialect import insert_or_ignore
from adapters.sql.tables import webhook_deliveries


class SqlWebhookRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def remember(self, provider_id: str, webhook_id: str, received_at: datetime) -> bool:
        statement = insert_or_ignore(self._conn, webhook_deliveries).values(
            provider_id=provider_id, webhook_id=webhook_id, received_at=received_at,
        ).returning(webhook_deliveries.c.webhook_id)
        return (await self._conn.execute(statement)).first() is not None
