"""Users and sessions in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Row, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.dialect import insert_or_ignore
from adapters.sql.paging import keyset_page
from adapters.sql.rows import as_dict, convert
from adapters.sql.tables import sessions, users
from domain.pagination import Cursor, Page
from domain.quotas import QuotaPolicy
from domain.users import Session, User

QUOTA_FIELDS = tuple(QuotaPolicy.__struct_fields__)


def user_row(user: User) -> dict[str, Any]:
    """Everything but the usage counters, which only the conditional statements move."""
    return {
        "id": user.id, "email": user.email, "username": user.username,
        "password_hash": user.password_hash, "created_at": user.created_at,
        "role": str(user.role), "is_active": user.is_active,
        **{name: getattr(user.quota, name) for name in QUOTA_FIELDS},
    }


def to_user(row: Row[Any]) -> User:
    data = as_dict(row)
    data["quota"] = QuotaPolicy(**{name: data.pop(name) for name in QUOTA_FIELDS})
    return msgspec.convert(data, User)


class SqlUserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> bool:
        values = {**user_row(user), "storage_bytes": user.storage_bytes, "running_jobs": user.running_jobs}
        stmt = insert_or_ignore(self._conn, users).values(values).returning(users.c.id)
        return (await self._conn.execute(stmt)).first() is not None

    async def get(self, user_id: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return None if row is None else to_user(row)

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email.lower()))).first()
        return None if row is None else to_user(row)

    async def update(self, user: User) -> None:
        values = user_row(user)
        del values["id"]
        await self._conn.execute(update(users).where(users.c.id == user.id).values(values))

    async def page(self, after: Cursor | None, limit: int) -> Page[User]:
        return await keyset_page(self._conn, select(users), users.c.created_at, users.c.id, after, limit,
                                 to_user, lambda u: (u.created_at, u.id))

    async def count(self) -> int:
        return (await self._conn.execute(select(func.count()).select_from(users))).scalar_one()

    async def try_add_storage(self, user_id: str, delta: int, limit: int | None) -> bool:
        stmt = update(users).where(users.c.id == user_id)
        if delta > 0:
            if limit is not None:
                stmt = stmt.where(users.c.storage_bytes + delta <= limit)
            stmt = stmt.values(storage_bytes=users.c.storage_bytes + delta)
        else:
            stmt = stmt.values(storage_bytes=case(
                (users.c.storage_bytes + delta < 0, 0), else_=users.c.storage_bytes + delta))
        return (await self._conn.execute(stmt.returning(users.c.id))).first() is not None

    async def release_run_slot(self, user_id: str) -> None:
        await self._conn.execute(
            update(users).where(users.c.id == user_id).values(running_jobs=case(
                (users.c.running_jobs > 0, users.c.running_jobs - 1), else_=0))
        )


def to_session(row: Row[Any]) -> Session:
    return convert(row, Session)


class SqlSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: Session) -> None:
        await self._conn.execute(sessions.insert().values(msgspec.structs.asdict(session)))

    async def get(self, session_id: str) -> Session | None:
        row = (await self._conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return None if row is None else to_session(row)

    async def update(self, session: Session) -> None:
        values = msgspec.structs.asdict(session)
        del values["id"]
        await self._conn.execute(update(sessions).where(sessions.c.id == session.id).values(values))

    async def list_live(self, user_id: str, now: datetime) -> list[Session]:
        rows = await self._conn.execute(
            select(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None), sessions.c.expires_at > now)
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        return [to_session(row) for row in rows]

    async def seen_from(self, user_id: str, client_ip: str, since: datetime) -> bool:
        found = await self._conn.execute(
            select(sessions.c.id)
            .where(sessions.c.user_id == user_id, sessions.c.client_ip == client_ip, sessions.c.created_at >= since)
            .limit(1)
        )
        return found.first() is not None

    async def revoke_all(self, user_id: str, now: datetime) -> int:
        result = await self._conn.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(sessions.c.id)
        )
        return len(result.all())
