"""The one way pixrelay opens Redis: short timeouts, no retries, and fail-fast while it is down.

Redis holds no money and no quota: every adapter on it fails open (rate limits), drops
(events, wake-ups) or misses (session cache) when it is unreachable. What must not happen is
a request waiting on it. An unreachable Redis (a partition swallows packets, nothing is
refused) costs every call a full socket timeout, redis-py's default retries multiply it, and
one request makes several calls (session cache, rate limits, events, wake-ups). So after a
call fails for want of Redis, every call of the same client fails at once for
`pause_seconds`; the first one after that tries Redis again.
"""

from __future__ import annotations

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

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class Outage:
    """Whether the Redis of one client was just found unreachable; shared by its connections."""

    def __init__(self, pause_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._pause = pause_seconds
        self._clock = clock
        self._until = 0.0

    def check(self) -> None:
        if self._clock() < self._until:
            raise RedisConnectionError("Redis was unreachable moments ago; not tried")

    def begin(self) -> None:
        self._until = self._clock() + self._pause


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
        except _UNREACHABLE:
            self.outage.begin()
            raise

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        self.outage.check()
        try:
            await super().send_packed_command(command, check_health)
        except _UNREACHABLE:
            self.outage.begin()
            raise

    async def read_response(self, disable_decoding: bool = False, timeout: float | None = None, *,  # noqa: ASYNC109
                            disconnect_on_error: bool = True, push_request: bool | None = False) -> Any:
        try:
            return await super().read_response(disable_decoding, timeout, disconnect_on_error=disconnect_on_error,
                                               push_request=push_request)
        except _UNREACHABLE:
            self.outage.begin()
            raise


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
