"""The credits ledger and daily usage counters in SQL.

Balances move by one conditional statement each (the row lock it takes serialises
concurrent movements of one user's credits); the CHECK constraints on credit_balances are
the last line of defence.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.dialect import upsert
from adapters.sql.rows import as_dict, convert
from adapters.sql.tables import (
    credit_balances,
    credit_holds,
    daily_usage,
    ledger_postings,
    ledger_transactions,
)
from domain.ledger import (
    CreditBalance,
    CreditHold,
    HoldStatus,
    LedgerEntry,
    LedgerTransaction,
    Posting,
    available_account,
    entries_newest_first,
    held_account,
)
from domain.ports import UsageDelta
from domain.quotas import DailyUsage


def _deltas(tx: LedgerTransaction) -> tuple[int, int]:
    available, held = available_account(tx.user_id), held_account(tx.user_id)
    return (sum(p.amount for p in tx.postings if p.account == available),
            sum(p.amount for p in tx.postings if p.account == held))


def to_hold(row: Row[Any]) -> CreditHold:
    return convert(row, CreditHold)


class SqlLedgerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def apply(self, tx: LedgerTransaction) -> bool:
        if not await self._move_balance(tx.user_id, *_deltas(tx)):
            return False
        tx_values = msgspec.structs.asdict(tx)
        del tx_values["postings"]
        await self._conn.execute(ledger_transactions.insert().values(tx_values))
        if tx.postings:
            await self._conn.execute(ledger_postings.insert(), [
                {"tx_id": tx.id, "position": i, "account": p.account, "amount": p.amount}
                for i, p in enumerate(tx.postings)
            ])
        return True

    async def _move_balance(self, user_id: str, available: int, held: int) -> bool:
        balances = credit_balances
        if available >= 0 and held >= 0:  # nothing can go negative: create the row if missing
            stmt = upsert(self._conn, balances).values(user_id=user_id, available=available, held=held)
            await self._conn.execute(stmt.on_conflict_do_update(
                index_elements=["user_id"],
                set_={"available": balances.c.available + available, "held": balances.c.held + held},
            ))
            return True
        # A missing row is a zero balance, which no negative movement can pass.
        result = await self._conn.execute(
            update(balances)
            .where(balances.c.user_id == user_id,
                   balances.c.available + available >= 0, balances.c.held + held >= 0)
            .values(available=balances.c.available + available, held=balances.c.held + held)
            .returning(balances.c.user_id)
        )
        return result.first() is not None

    async def balance(self, user_id: str) -> CreditBalance:
        query = select(credit_balances.c.available, credit_balances.c.held).where(
            credit_balances.c.user_id == user_id)
        row = (await self._conn.execute(query)).first()
        return CreditBalance(user_id) if row is None else CreditBalance(user_id, row.available, row.held)

    async def add_hold(self, hold: CreditHold) -> None:
        await self._conn.execute(credit_holds.insert().values(msgspec.structs.asdict(hold)))

    async def get_hold(self, hold_id: str) -> CreditHold | None:
        row = (await self._conn.execute(select(credit_holds).where(credit_holds.c.id == hold_id))).first()
        return None if row is None else to_hold(row)

    async def settle_hold(self, hold: CreditHold) -> bool:
        values = msgspec.structs.asdict(hold)
        del values["id"]
        result = await self._conn.execute(
            update(credit_holds)
            .where(credit_holds.c.id == hold.id, credit_holds.c.status == str(HoldStatus.OPEN))
            .values(values)
            .returning(credit_holds.c.id)
        )
        return result.first() is not None

    async def transactions(self, user_id: str | None = None) -> list[LedgerTransaction]:
        txs = ledger_transactions
        query = select(txs).order_by(txs.c.seq)
        postings_query = (
            select(ledger_postings).join(txs, txs.c.id == ledger_postings.c.tx_id)
            .order_by(ledger_postings.c.tx_id, ledger_postings.c.position)
        )
        if user_id is not None:
            query = query.where(txs.c.user_id == user_id)
            postings_query = postings_query.where(txs.c.user_id == user_id)
        postings: dict[str, list[Posting]] = defaultdict(list)
        for row in await self._conn.execute(postings_query):
            postings[row.tx_id].append(Posting(row.account, row.amount))
        result = []
        for row in await self._conn.execute(query):
            data = as_dict(row)
            del data["seq"]
            data["postings"] = postings[row.id]
            result.append(msgspec.convert(data, LedgerTransaction))
        return result

    async def history(self, user_id: str, before_seq: int | None, limit: int) -> list[LedgerEntry]:
        """Three reads: the page of transactions, their postings, and the user's balance
        right after the newest of them (a sum over the user's postings up to it)."""
        txs = ledger_transactions
        query = select(txs).where(txs.c.user_id == user_id).order_by(txs.c.seq.desc()).limit(max(0, limit))
        if before_seq is not None:
            query = query.where(txs.c.seq < before_seq)
        rows = (await self._conn.execute(query)).all()
        if not rows:
            return []
        postings: dict[str, list[Posting]] = defaultdict(list)
        found = await self._conn.execute(
            select(ledger_postings).where(ledger_postings.c.tx_id.in_([row.id for row in rows]))
            .order_by(ledger_postings.c.tx_id, ledger_postings.c.position))
        for posting in found:
            postings[posting.tx_id].append(Posting(posting.account, posting.amount))
        available, held = available_account(user_id), held_account(user_id)
        totals: dict[str, int] = {row[0]: int(row[1]) for row in await self._conn.execute(
            select(ledger_postings.c.account, func.sum(ledger_postings.c.amount))
            .join(txs, txs.c.id == ledger_postings.c.tx_id)
            .where(txs.c.user_id == user_id, txs.c.seq <= rows[0].seq,
                   ledger_postings.c.account.in_([available, held]))
            .group_by(ledger_postings.c.account))}
        newest: list[tuple[int, LedgerTransaction]] = []
        for row in rows:
            data = as_dict(row)
            seq = data.pop("seq")
            data["postings"] = postings[row.id]
            newest.append((seq, msgspec.convert(data, LedgerTransaction)))
        balance = CreditBalance(user_id, int(totals.get(available, 0)), int(totals.get(held, 0)))
        return entries_newest_first(newest, balance)

    async def holds(self, user_id: str | None = None) -> list[CreditHold]:
        query = select(credit_holds).order_by(credit_holds.c.created_at, credit_holds.c.id)
        if user_id is not None:
            query = query.where(credit_holds.c.user_id == user_id)
        return [to_hold(row) for row in await self._conn.execute(query)]


USAGE_COUNTERS = ("jobs_completed", "assets_created", "credits_spent", "bytes_stored")


class SqlUsageRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, user_id: str, day: date) -> DailyUsage:
        query = select(daily_usage).where(daily_usage.c.user_id == user_id, daily_usage.c.day == day)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return DailyUsage(user_id=user_id, day=day)
        return convert(row, DailyUsage)

    async def between(self, user_id: str, first: date, last: date) -> list[DailyUsage]:
        query = (select(daily_usage).where(daily_usage.c.user_id == user_id, daily_usage.c.day >= first,
                                           daily_usage.c.day <= last).order_by(daily_usage.c.day))
        return [convert(row, DailyUsage) for row in await self._conn.execute(query)]

    async def try_count_job(self, user_id: str, day: date, limit: int | None) -> bool:
        await self._ensure_row(user_id, day)
        stmt = update(daily_usage).where(daily_usage.c.user_id == user_id, daily_usage.c.day == day)
        if limit is not None:
            stmt = stmt.where(daily_usage.c.jobs_created < limit)
        result = await self._conn.execute(
            stmt.values(jobs_created=daily_usage.c.jobs_created + 1).returning(daily_usage.c.user_id))
        return result.first() is not None

    async def add(self, user_id: str, day: date, delta: UsageDelta) -> None:
        changes = {name: getattr(delta, name) for name in USAGE_COUNTERS}
        stmt = upsert(self._conn, daily_usage).values(user_id=user_id, day=day, jobs_created=0, **changes)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["user_id", "day"],
            set_={name: daily_usage.c[name] + amount for name, amount in changes.items()},
        ))

    async def _ensure_row(self, user_id: str, day: date) -> None:
        stmt = upsert(self._conn, daily_usage).values(
            user_id=user_id, day=day, jobs_created=0, **dict.fromkeys(USAGE_COUNTERS, 0))
        await self._conn.execute(stmt.on_conflict_do_nothing(index_elements=["user_id", "day"]))
