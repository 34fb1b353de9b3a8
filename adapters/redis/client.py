"""The one way pixrelay opens Redis: short timeouts, no retries, and fail-fast while it is down.

Redis holds no money and no quota: every adapter on it fails open (rate limits), drops
(events, wake-ups) or misses (session cache) when it is unreachable. What must not happen is
a request waiting on it. An unreachable Redis (a partition swallows packets, nothing is
refused) costs every call a full socket timeout, redis-py's default retries multiply it, and
one request makes several calls (session cache, rate limits, events, wake-ups). So after a
call fails for want of Redis, every call of the same client fails at once for
`pause_seconds`; the first one after that tries Redis again. While the outage lasts the pause
doubles with each failed try (up to `MAX_OUTAGE_PAUSE_SECONDS`), and the outage is logged
once when it starts and once when Redis answers again; the adapters log the calls it fails
at debug level only (`log_failure`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# A Redis in the same network answers in well under a millisecond; the bound has to stay
# above event loop stalls (argon2 hashing blocks the loop for tens of milliseconds).
CONNECT_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 0.5
OUTAGE_PAUSE_SECONDS = 1.0
MAX_OUTAGE_PAUSE_SECONDS = 10.0

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
log = logging.getLogger("pixrelay.redis")


def log_failure(logger: logging.Logger, event: str, error: BaseException, **extra: object) -> None:
    """An adapter's failed Redis call: at debug level when Redis is unreachable (its client
    logs the outage once), at warning level otherwise (a script error, a bad reply)."""
    unreachable = isinstance(error, (*_UNREACHABLE, OSError, TimeoutError))
    logger.log(logging.DEBUG if unreachable else logging.WARNING, event, extra={"error": repr(error), **extra})


class Outage:
    """Whether the Redis of one client was just found unreachable; shared by its connections.

    The first failure starts an outage (logged once) and a pause of `pause_seconds` in which
    no call tries Redis; each failed try after a pause doubles it, up to `max_pause_seconds`.
    The first call that succeeds ends the outage (logged once)."""

    def __init__(self, pause_seconds: float, clock: Callable[[], float] = time.monotonic,
                 max_pause_seconds: float = MAX_OUTAGE_PAUSE_SECONDS) -> None:
        self._base = pause_seconds
        self._max = max(max_pause_seconds, pause_seconds)
        self._pause = pause_seconds
        self._clock = clock
        self._until = 0.0
        self._down_since: float | None = None
        self.tries_failed = 0  # tries that reached for Redis and failed, this outage

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def check(self) -> None:
        if self._clock() < self._until:
            raise RedisConnectionError("Redis was unreachable moments ago; not tried")

    def begin(self, error: BaseException | None = None) -> None:
        now = self._clock()
        if now < self._until:
            return  # another call of the same try failed too
        if self._down_since is None:
            self._down_since = now
            self._pause = self._base
            self.tries_failed = 1
            log.warning("redis.unreachable", extra={"error": repr(error), "retry_in_seconds": self._pause})
        else:
            self._pause = min(self._pause * 2, self._max)
            self.tries_failed += 1
        self._until = now + self._pause

    def end(self) -> None:
        if self._down_since is None:
            return
        log.info("redis.reachable", extra={"down_seconds": round(self._clock() - self._down_since, 3),
                                               "failed_tries": self.tries_failed})
        self._down_since = None
        self._pause = self._base
        self._until = 0.0


class FailFast(AbstractConnection):
    """A redis-py connection that reports failures to, and consults, the client's Outage."""

    def __init__(self, *, outage: Outage, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outage = outage

    async def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        if not self.is_connected:
            self.outage.check()
        try:
            await super().connect_check_health(check_health, retry_socket_connect)
        except _UNREACHABLE as error:
            self.outage.begin(error)
            raise

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        self.outage.check()
        try:
            await super().send_packed_command(command, check_health)
        except _UNREACHABLE as error:
            self.outage.begin(error)
            raise

    async def read_response(self, disable_decoding: bool = False, timeout: float | None = None, *,  # noqa: ASYNC109
                            disconnect_on_error: bool = True, push_request: bool | None = False) -> Any:
        try:
            response = await super().read_response(disable_decoding, timeout, disconnect_on_error=disconnect_on_error,
                                                   push_request=push_request)
        except _UNREACHABLE as error:
            self.outage.begin(error)
            raise
        self.outage.end()
        return response


class FailFastConnection(FailFast, Connection):
    pass


class FailFastSSLConnection(FailFast, SSLConnection):
    pass


class FailFastUnixConnection(FailFast, UnixDomainSocketConnection):
    pass


FAIL_FAST: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: FailFastConnection, SSLConnection: FailFastSSLConnection,
    UnixDomainSocketConnection: FailFastUnixConnection,
}


def redis_client(url: str, *, pause_seconds: float = OUTAGE_PAUSE_SECONDS) -> Redis:
    """A client for `url` (redis://, rediss://, unix://); its query string may still set
    its own timeouts, as redis-py lets it."""
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
                               "socket_timeout": SOCKET_TIMEOUT_SECONDS, **parse_url(url)}
    options["connection_class"] = FAIL_FAST[options.get("connection_class", Connection)]
    pool = ConnectionPool(retry=Retry(NoBackoff(), 0), outage=Outage(pause_seconds), **options)
    return Redis.from_pool(pool)
