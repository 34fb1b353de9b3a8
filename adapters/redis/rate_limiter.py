"""Sliding-window-log rate limiter shared by every replica through Redis."""

from __future__ import annotations

import logging
import math
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.redis.client import log_failure
from domain.ports import RateDecision

log = logging.getLogger(__name__)

# One sorted set per key: members are allowed hits, scores their server time in µs.
# Server time (not each replica's clock) so replicas with skewed clocks agree.
# Returns {allowed, µs until the window has room again}.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1]) * 1000000
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
  return {1, 0}
end
local edge = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, tonumber(edge[2]) + window - now}
"""


class RedisRateLimiter:
    """Denied hits are not counted. When Redis is unreachable the limiter fails open:
    rate limits protect the service, they must not take it down with Redis."""

    def __init__(self, redis: Redis, prefix: str = "pixrelay:rl:") -> None:
        self._redis = redis
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        if limit <= 0:
            return RateDecision(allowed=False, retry_after=max(1, window_seconds))
        try:
            allowed, wait_us = await self._script(
                keys=[self._prefix + key], args=[window_seconds, limit, uuid.uuid4().hex])
        except RedisError as error:
            log_failure(log, "rate_limiter.unavailable_allowing", error)
            return RateDecision(allowed=True)
        if allowed:
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after=max(1, math.ceil(int(wait_us) / 1_000_000)))

    async def undo(self, key: str) -> None:
        try:
            await self._redis.zpopmax(self._prefix + key)
        except RedisError as error:
            log_failure(log, "rate_limiter.undo_failed", error)
