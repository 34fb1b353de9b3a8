"""In-memory provider accounts with the same atomic reservation rules as SQL."""

from __future__ import annotations

from datetime import datetime

import msgspec

from adapters.memory.store import MemoryState
from domain.accounts import ProviderAccount, free_slot, is_available, reserve

HEALTH_FIELDS = (
    "status", "cooldown_until", "consecutive_failures", "success_count", "failure_count",
    "avg_generation_seconds",
)
ADMIN_FIELDS = ("label", "secret", "status", "priority", "max_concurrent_jobs", "cooldown_until")


class InMemoryAccountRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, account: ProviderAccount) -> None:
        self._state.accounts[account.id] = account

    async def get(self, account_id: str) -> ProviderAccount | None:
        return self._state.accounts.get(account_id)

    async def find(self, provider_id: str | None = None, owner_user_id: str | None = None,
                   shared_only: bool = False) -> list[ProviderAccount]:
        found = [
            a for a in self._state.accounts.values()
            if (provider_id is None or a.provider_id == provider_id)
            and (owner_user_id is None or a.owner_user_id == owner_user_id)
            and (not shared_only or a.owner_user_id is None)
        ]
        return sorted(found, key=lambda a: (a.created_at, a.id))

    async def candidates(self, provider_id: str, user_id: str) -> list[ProviderAccount]:
        return [
            a for a in await self.find(provider_id)
            if a.owner_user_id is None or a.owner_user_id == user_id
        ]

    def _replace(self, account_id: str, source: ProviderAccount, names: tuple[str, ...]) -> None:
        stored = self._state.accounts.get(account_id)
        if stored is not None:
            changes = {name: getattr(source, name) for name in names}
            self._state.accounts[account_id] = msgspec.structs.replace(stored, **changes)

    async def update(self, account: ProviderAccount) -> None:
        self._replace(account.id, account, ADMIN_FIELDS)

    async def delete(self, account_id: str) -> bool:
        return self._state.accounts.pop(account_id, None) is not None

    async def count_owned(self, user_id: str) -> int:
        return sum(1 for a in self._state.accounts.values() if a.owner_user_id == user_id)

    async def try_reserve(self, account_id: str, cost: int, now: datetime) -> ProviderAccount | None:
        account = self._state.accounts.get(account_id)
        if account is None or not is_available(account, now):
            return None
        reserved = reserve(account, cost, now).value_or(None)
        if reserved is not None:
            self._state.accounts[account_id] = reserved
        return reserved

    async def free_slot(self, account_id: str, refund: int) -> None:
        account = self._state.accounts.get(account_id)
        if account is not None:
            self._state.accounts[account_id] = free_slot(account, refund)

    async def save_health(self, account: ProviderAccount) -> None:
        self._replace(account.id, account, HEALTH_FIELDS)

    async def try_add_credits(self, account_id: str, amount: int) -> ProviderAccount | None:
        account = self._state.accounts.get(account_id)
        if account is None or account.credits + amount < 0:
            return None
        updated = msgspec.structs.replace(account, credits=account.credits + amount)
        self._state.accounts[account_id] = updated
        return updated
