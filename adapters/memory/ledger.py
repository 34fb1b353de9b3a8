"""In-memory credits ledger and daily usage counters."""

from __future__ import annotations

from datetime import date

import msgspec

from adapters.memory.store import MemoryState
from domain.ledger import (
    CreditBalance,
    CreditHold,
    HoldStatus,
    LedgerEntry,
    LedgerTransaction,
    apply_to_balance,
    entries_newest_first,
    is_spendable,
)
from domain.ports import UsageDelta
from domain.quotas import DailyUsage, within


class InMemoryLedgerRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def apply(self, tx: LedgerTransaction) -> bool:
        updated = apply_to_balance(await self.balance(tx.user_id), tx)
        if not is_spendable(updated):
            return False
        self._state.balances[tx.user_id] = updated
        self._state.transactions.append(tx)
        return True

    async def balance(self, user_id: str) -> CreditBalance:
        return self._state.balances.get(user_id, CreditBalance(user_id))

    async def add_hold(self, hold: CreditHold) -> None:
        self._state.holds[hold.id] = hold

    async def get_hold(self, hold_id: str) -> CreditHold | None:
        return self._state.holds.get(hold_id)

    async def settle_hold(self, hold: CreditHold) -> bool:
        stored = self._state.holds.get(hold.id)
        if stored is None or stored.status is not HoldStatus.OPEN:
            return False
        self._state.holds[hold.id] = hold
        return True

    async def transactions(self, user_id: str | None = None) -> list[LedgerTransaction]:
        return [t for t in self._state.transactions if user_id is None or t.user_id == user_id]

    async def holds(self, user_id: str | None = None) -> list[CreditHold]:
        return [h for h in self._state.holds.values() if user_id is None or h.user_id == user_id]

    async def history(self, user_id: str, before_seq: int | None, limit: int) -> list[LedgerEntry]:
        mine = [(seq, tx) for seq, tx in enumerate(self._state.transactions, start=1)
                if tx.user_id == user_id and (before_seq is None or seq < before_seq)]
        balance = CreditBalance(user_id)
        for _, tx in mine:
            balance = apply_to_balance(balance, tx)
        return entries_newest_first(reversed(mine[-limit:] if limit > 0 else []), balance)


class InMemoryUsageRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def get(self, user_id: str, day: date) -> DailyUsage:
        return self._state.usage.get((user_id, day), DailyUsage(user_id=user_id, day=day))

    async def between(self, user_id: str, first: date, last: date) -> list[DailyUsage]:
        return sorted((u for (owner, day), u in self._state.usage.items() if owner == user_id and first <= day <= last),
                      key=lambda u: u.day)

    async def try_count_job(self, user_id: str, day: date, limit: int | None) -> bool:
        usage = await self.get(user_id, day)
        if not within(limit, usage.jobs_created):
            return False
        self._state.usage[(user_id, day)] = msgspec.structs.replace(usage, jobs_created=usage.jobs_created + 1)
        return True

    async def add(self, user_id: str, day: date, delta: UsageDelta) -> None:
        usage = await self.get(user_id, day)
        self._state.usage[(user_id, day)] = msgspec.structs.replace(
            usage,
            jobs_completed=usage.jobs_completed + delta.jobs_completed,
            assets_created=usage.assets_created + delta.assets_created,
            credits_spent=usage.credits_spent + delta.credits_spent,
            bytes_stored=usage.bytes_stored + delta.bytes_stored,
        )
