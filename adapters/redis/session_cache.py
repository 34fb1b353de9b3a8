"""The session cache every API replica shares through Redis (the database stays the truth)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.redis.client import log_failure
from domain.ports import CachedSession

log = logging.getLogger(__name__)

FORGET_GUARD_SECONDS = 60

# KEYS: entry, the user's set of session ids, the session's guard, the user's guard.
# ARGV: value, ttl, session id. Nothing is stored while either guard is up.
_PUT = """
if redis.call('EXISTS', KEYS[3], KEYS[4]) > 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
"""

# KEYS: the user's set of session ids, the user's guard. ARGV: entry key prefix, guard ttl.
_FORGET_USER = """
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
return #ids
"""


class RedisSessionCache:
    """One round trip per call. Forgetting raises a guard key for `guard_seconds` that
    refuses puts, so a put built from a read made before the revocation is dropped.

    Redis failures are logged and read as misses. After a failed forget this process
    trusts no entry for `guard_seconds` (Redis may come back still holding the revoked
    session); other replicas are bounded by the entry's TTL. The scripts read keys they
    derive, so this needs a single Redis (or a primary), not Redis Cluster."""

    def __init__(self, redis: Redis, prefix: str = "pixrelay:sc:",
                 guard_seconds: int = FORGET_GUARD_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._prefix = prefix
        self._guard = guard_seconds
        self._clock = clock
        self._put = redis.register_script(_PUT)
        self._forget_user = redis.register_script(_FORGET_USER)
        self._distrust_until = 0.0

    def _entry(self, session_id: str) -> str:
        return f"{self._prefix}s:{session_id}"

    def _user(self, user_id: str) -> str:
        return f"{self._prefix}u:{user_id}"

    def _guard_key(self, kind: str, key_id: str) -> str:
        return f"{self._prefix}gone:{kind}:{key_id}"

    def _trusted(self) -> bool:
        return self._clock() >= self._distrust_until

    async def get(self, session_id: str) -> CachedSession | None:
        if not self._trusted():
            return None
        try:
            raw = await self._redis.get(self._entry(session_id))
            return None if raw is None else msgspec.json.decode(raw, type=CachedSession)
        except RedisError as error:
            log_failure(log, "session_cache.get_failed", error)
        except msgspec.DecodeError as error:  # ValidationError is a DecodeError
            log.warning("undecodable session cache entry %s ignored: %s", session_id, error)
        return None

    async def put(self, session_id: str, value: CachedSession, ttl_seconds: int) -> None:
        if ttl_seconds <= 0 or not self._trusted():
            return
        keys = [self._entry(session_id), self._user(value.user_id),
                self._guard_key("s", session_id), self._guard_key("u", value.user_id)]
        try:
            await self._put(keys=keys, args=[msgspec.json.encode(value), ttl_seconds, session_id])
        except RedisError as error:
            log_failure(log, "session_cache.put_failed", error)

    async def forget(self, session_ids: Sequence[str]) -> None:
        if not session_ids:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(*[self._entry(s) for s in session_ids])
                for session_id in session_ids:
                    pipe.set(self._guard_key("s", session_id), 1, ex=self._guard)
                await pipe.execute()
        except RedisError as error:
            self._forget_failed(error)

    async def forget_user(self, user_id: str) -> None:
        try:
            await self._forget_user(keys=[self._user(user_id), self._guard_key("u", user_id)],
                                    args=[self._entry(""), self._guard])
        except RedisError as error:
            self._forget_failed(error)

    def _forget_failed(self, error: RedisError) -> None:
        self._distrust_until = self._clock() + self._guard
        log.warning("session cache unavailable, revocation not forwarded to it; this process "
                    "ignores the cache for %d s: %s", self._guard, error)
