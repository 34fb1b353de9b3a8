"""In-memory API keys."""

from __future__ import annotations

from datetime import datetime

import msgspec

from adapters.memory.store import MemoryState
from domain.api_keys import ApiKey, KeyOwner


class InMemoryApiKeyRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, key: ApiKey) -> None:
        self._state.api_keys[key.id] = key

    async def get(self, key_id: str) -> ApiKey | None:
        return self._state.api_keys.get(key_id)

    async def with_owner(self, key_id: str) -> tuple[ApiKey, KeyOwner] | None:
        key = self._state.api_keys.get(key_id)
        owner = None if key is None else self._state.users.get(key.user_id)
        if key is None or owner is None:
            return None
        return key, KeyOwner(role=owner.role, is_active=owner.is_active)

    async def live_for(self, user_id: str) -> list[ApiKey]:
        keys = [k for k in self._state.api_keys.values() if k.user_id == user_id and k.revoked_at is None]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)

    async def count_live(self, user_id: str) -> int:
        return len(await self.live_for(user_id))

    async def revoke(self, key_id: str, now: datetime) -> bool:
        key = self._state.api_keys.get(key_id)
        if key is None or key.revoked_at is not None:
            return False
        self._state.api_keys[key_id] = msgspec.structs.replace(key, revoked_at=now)
        return True

    async def touch(self, key_id: str, now: datetime, older_than: datetime) -> None:
        key = self._state.api_keys.get(key_id)
        if key is not None and (key.last_used_at is None or key.last_used_at < older_than):
            self._state.api_keys[key_id] = msgspec.structs.replace(key, last_used_at=now)
