"""Provider accounts in SQL: reservations and credits move only by conditional UPDATEs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Row, and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.security.secret_box import PlainSecretBox, SecretBox
from adapters.sql.rows import convert
from adapters.sql.tables import accounts
from domain.accounts import AccountStatus, ProviderAccount

HEALTH_FIELDS = (
    "status", "cooldown_until", "consecutive_failures", "success_count", "failure_count",
    "avg_generation_seconds",
)
ADMIN_FIELDS = ("label", "secret", "status", "priority", "cooldown_until")


def to_account(row: Row[Any]) -> ProviderAccount:
    return convert(row, ProviderAccount)


def _fields(account: ProviderAccount, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(account, name) for name in names}


class SqlAccountRepository:
    """Secrets are sealed by `box` on the way in and opened on the way out: the table never
    holds a provider key in the clear (with an encrypting box)."""

    def __init__(self, conn: AsyncConnection, box: SecretBox | None = None) -> None:
        self._conn = conn
        self._box = box or PlainSecretBox()

    def _account(self, row: Row[Any]) -> ProviderAccount:
        account = to_account(row)
        return msgspec.structs.replace(account, secret=self._box.open(account.secret))

    async def add(self, account: ProviderAccount) -> None:
        values = msgspec.to_builtins(account, builtin_types=(datetime,))
        values["secret"] = self._box.seal(account.secret)
        await self._conn.execute(accounts.insert().values(values))

    async def get(self, account_id: str) -> ProviderAccount | None:
        row = (await self._conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
        return None if row is None else self._account(row)

    async def find(self, provider_id: str | None = None, owner_user_id: str | None = None,
                   shared_only: bool = False) -> list[ProviderAccount]:
        query = select(accounts).order_by(accounts.c.created_at, accounts.c.id)
        if provider_id is not None:
            query = query.where(accounts.c.provider_id == provider_id)
        if owner_user_id is not None:
            query = query.where(accounts.c.owner_user_id == owner_user_id)
        if shared_only:
            query = query.where(accounts.c.owner_user_id.is_(None))
        return [self._account(row) for row in await self._conn.execute(query)]

    async def candidates(self, provider_id: str, user_id: str) -> list[ProviderAccount]:
        query = (
            select(accounts)
            .where(accounts.c.provider_id == provider_id,
                   or_(accounts.c.owner_user_id.is_(None), accounts.c.owner_user_id == user_id))
            .order_by(accounts.c.created_at, accounts.c.id)
        )
        return [self._account(row) for row in await self._conn.execute(query)]

    async def update(self, account: ProviderAccount) -> None:
        # A maximum lowered, in a race, below the jobs reserved right now stops at their
        # number: the schema (like the domain) never has current_jobs above the maximum.
        await self._conn.execute(
            update(accounts).where(accounts.c.id == account.id).values(
                **{**_fields(account, ADMIN_FIELDS), "secret": self._box.seal(account.secret)},
                max_concurrent_jobs=case(
                    (accounts.c.current_jobs > account.max_concurrent_jobs, accounts.c.current_jobs),
                    else_=account.max_concurrent_jobs,
                ),
            )
        )

    async def delete(self, account_id: str) -> bool:
        result = await self._conn.execute(
            delete(accounts).where(accounts.c.id == account_id).returning(accounts.c.id))
        return result.first() is not None

    async def count_owned(self, user_id: str) -> int:
        query = select(func.count()).select_from(accounts).where(accounts.c.owner_user_id == user_id)
        return (await self._conn.execute(query)).scalar_one()

    async def try_reserve(self, account_id: str, cost: int, now: datetime) -> ProviderAccount | None:
        if cost < 0:
            return None
        usable = or_(
            accounts.c.status == str(AccountStatus.ACTIVE),
            and_(accounts.c.status == str(AccountStatus.COOLING_DOWN), accounts.c.cooldown_until <= now),
        )
        result = await self._conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id,
                   accounts.c.current_jobs < accounts.c.max_concurrent_jobs,
                   accounts.c.credits >= cost,
                   usable)
            .values(current_jobs=accounts.c.current_jobs + 1, credits=accounts.c.credits - cost,
                    last_used_at=now)
            .returning(*accounts.c)
        )
        row = result.first()
        return None if row is None else self._account(row)

    async def free_slot(self, account_id: str, refund: int) -> None:
        await self._conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(
                current_jobs=case((accounts.c.current_jobs > 0, accounts.c.current_jobs - 1), else_=0),
                credits=accounts.c.credits + max(0, refund),
            )
        )

    async def save_health(self, account: ProviderAccount) -> None:
        await self._conn.execute(
            update(accounts).where(accounts.c.id == account.id).values(_fields(account, HEALTH_FIELDS)))

    async def try_add_credits(self, account_id: str, amount: int) -> ProviderAccount | None:
        result = await self._conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.credits + amount >= 0)
            .values(credits=accounts.c.credits + amount)
            .returning(*accounts.c)
        )
        row = result.first()
        return None if row is None else self._account(row)
