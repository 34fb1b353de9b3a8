"""Session caches for a single process (embedded mode, tests), and the cache that is none."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from domain.ports import CachedSession

FORGET_GUARD_SECONDS = 60
_SWEEP_EVERY = 1024


class InMemorySessionCache:
    """Only for one process: with several, a revocation made in one would go unseen by the
    others until the entry's TTL. Forgotten sessions and users refuse puts for
    `guard_seconds`, so a put built from a read made before the revocation is dropped."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 guard_seconds: int = FORGET_GUARD_SECONDS) -> None:
        self._clock = clock
        self._guard = guard_seconds
        self._entries: dict[str, tuple[float, CachedSession]] = {}
        self._by_user: dict[str, set[str]] = {}
        self._forgotten: dict[str, float] = {}  # "s:<session id>" / "u:<user id>" -> until
        self._puts = 0

    async def get(self, session_id: str) -> CachedSession | None:
        found = self._entries.get(session_id)
        if found is None:
            return None
        until, value = found
        if until <= self._clock():
            self._drop(session_id)
            return None
        return value

    async def put(self, session_id: str, value: CachedSession, ttl_seconds: int) -> None:
        now = self._clock()
        self._puts += 1
        if self._puts % _SWEEP_EVERY == 0:
            self._sweep(now)
        if (self._forgotten.get(f"s:{session_id}", 0) > now
                or self._forgotten.get(f"u:{value.user_id}", 0) > now):
            return
        self._entries[session_id] = (now + ttl_seconds, value)
        self._by_user.setdefault(value.user_id, set()).add(session_id)

    async def forget(self, session_ids: Sequence[str]) -> None:
        until = self._clock() + self._guard
        for session_id in session_ids:
            self._forgotten[f"s:{session_id}"] = until
            self._drop(session_id)

    async def forget_user(self, user_id: str) -> None:
        self._forgotten[f"u:{user_id}"] = self._clock() + self._guard
        for session_id in self._by_user.pop(user_id, set()):
            self._entries.pop(session_id, None)

    def _drop(self, session_id: str) -> None:
        found = self._entries.pop(session_id, None)
        if found is None:
            return
        sessions = self._by_user.get(found[1].user_id)
        if sessions is not None:
            sessions.discard(session_id)
            if not sessions:
                del self._by_user[found[1].user_id]

    def _sweep(self, now: float) -> None:
        """Forget expired entries and guards, so memory follows live sessions."""
        for session_id in [s for s, (until, _) in self._entries.items() if until <= now]:
            self._drop(session_id)
        self._forgotten = {key: until for key, until in self._forgotten.items() if until > now}


class NoSessionCache:
    """Always a miss: every request checks the database. For several processes without a
    shared cache (Postgres but no Redis), where a per-process cache would serve a revoked
    session on the replicas that did not revoke it."""

    async def get(self, session_id: str) -> CachedSession | None:
        return None

    async def put(self, session_id: str, value: CachedSession, ttl_seconds: int) -> None:
        return None

    async def forget(self, session_ids: Sequence[str]) -> None:
        return None

    async def forget_user(self, user_id: str) -> None:
        return None
