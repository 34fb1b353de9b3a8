"""In-memory users and sessions."""

from __future__ import annotations

from datetime import datetime

import msgspec

from adapters.memory.paging import paginate
from adapters.memory.store import MemoryState
from domain.pagination import Cursor, Page
from domain.quotas import within
from domain.users import Session, User


class InMemoryUserRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, user: User) -> bool:
        for other in self._state.users.values():
            if other.email == user.email or other.username.lower() == user.username.lower():
                return False
        self._state.users[user.id] = user
        return True

    async def get(self, user_id: str) -> User | None:
        return self._state.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._state.users.values() if u.email == email.lower()), None)

    async def update(self, user: User) -> None:
        stored = self._state.users.get(user.id)
        if stored is not None:
            self._state.users[user.id] = msgspec.structs.replace(
                user, storage_bytes=stored.storage_bytes, running_jobs=stored.running_jobs
            )

    async def page(self, after: Cursor | None, limit: int) -> Page[User]:
        return paginate(self._state.users.values(), lambda u: (u.created_at, u.id), after, limit)

    async def count(self) -> int:
        return len(self._state.users)

    async def try_add_storage(self, user_id: str, delta: int, limit: int | None) -> bool:
        user = self._state.users.get(user_id)
        if user is None:
            return False
        if delta > 0 and not within(limit, user.storage_bytes, delta):
            return False
        stored = max(0, user.storage_bytes + delta)
        self._state.users[user_id] = msgspec.structs.replace(user, storage_bytes=stored)
        return True

    async def release_run_slot(self, user_id: str) -> None:
        user = self._state.users.get(user_id)
        if user is not None:
            running = max(0, user.running_jobs - 1)
            self._state.users[user_id] = msgspec.structs.replace(user, running_jobs=running)


class InMemorySessionRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, session: Session) -> None:
        self._state.sessions[session.id] = session

    async def get(self, session_id: str) -> Session | None:
        return self._state.sessions.get(session_id)

    async def update(self, session: Session) -> None:
        self._state.sessions[session.id] = session

    async def list_live(self, user_id: str, now: datetime) -> list[Session]:
        live = [s for s in self._state.sessions.values() if s.user_id == user_id and s.is_live(now)]
        return sorted(live, key=lambda s: (s.created_at, s.id), reverse=True)

    async def seen_from(self, user_id: str, client_ip: str, since: datetime) -> bool:
        return any(s.user_id == user_id and s.client_ip == client_ip and s.created_at >= since
                   for s in self._state.sessions.values())

    async def revoke_all(self, user_id: str, now: datetime) -> int:
        revoked = 0
        for session in list(self._state.sessions.values()):
            if session.user_id == user_id and session.revoked_at is None:
                self._state.sessions[session.id] = msgspec.structs.replace(session, revoked_at=now)
                revoked += 1
        return revoked
