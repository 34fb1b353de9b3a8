"""API keys in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.rows import as_dict
from adapters.sql.tables import api_keys, users
from domain.api_keys import ApiKey, KeyOwner
from domain.users import Role


def to_key(row: Row[Any]) -> ApiKey:
    data = as_dict(row)
    data.pop("owner_role", None)
    data.pop("owner_active", None)
    return msgspec.convert(data, ApiKey)


class SqlApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        values = msgspec.structs.asdict(key)
        values["scopes"] = [str(s) for s in key.scopes]
        await self._conn.execute(api_keys.insert().values(values))

    async def get(self, key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        return None if row is None else to_key(row)

    async def with_owner(self, key_id: str) -> tuple[ApiKey, KeyOwner] | None:
        stmt = (select(api_keys, users.c.role.label("owner_role"), users.c.is_active.label("owner_active"))
                .join(users, users.c.id == api_keys.c.user_id).where(api_keys.c.id == key_id))
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        owner = KeyOwner(role=Role(row.owner_role), is_active=bool(row.owner_active))
        return to_key(row), owner

    async def live_for(self, user_id: str) -> list[ApiKey]:
        rows = await self._conn.execute(
            select(api_keys).where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc()))
        return [to_key(row) for row in rows]

    async def count_live(self, user_id: str) -> int:
        stmt = select(func.count()).select_from(api_keys).where(
            api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
        return (await self._conn.execute(stmt)).scalar_one()

    async def revoke(self, key_id: str, now: datetime) -> bool:
        stmt = (update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now).returning(api_keys.c.id))
        return (await self._conn.execute(stmt)).first() is not None

    async def touch(self, key_id: str, now: datetime, older_than: datetime) -> None:
        await self._conn.execute(
            update(api_keys).where(api_keys.c.id == key_id, or_(
                api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < older_than))
            .values(last_used_at=now))
