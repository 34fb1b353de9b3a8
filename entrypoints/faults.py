"""Which exceptions are faults of a backing service (database, cache, blob store) that a
retry may cure, as opposed to bugs: the API answers them with 503, the worker backs off."""

from __future__ import annotations

import asyncpg
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # includes ConnectionError and TimeoutError
    asyncpg.ConnectionDoesNotExistError,  # statements sent on the driver itself (hot paths)
    OperationalError, InterfaceError, PoolTimeout,
    RedisConnectionError, RedisTimeoutError,
    BotoConnectionError, HTTPClientError,
)


# SQLSTATEs of a lost or refused connection (class 08), of a server shutting down or not up
# yet (57P01..57P03), and of a server out of connections.
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_infrastructure_fault(error: BaseException) -> bool:
    if isinstance(error, INFRASTRUCTURE_ERRORS):
        return True
    if not isinstance(error, DBAPIError):
        # the driver's own error, as the hot-path statements raise it (adapters/sql/autocommit.py)
        return _unavailable(error)
    # asyncpg's "connection was closed in the middle of operation" (SQLSTATE 08003) reaches
    # us as a plain DBAPIError: marked as a disconnect mid-statement, unmarked on connect.
    return error.connection_invalidated or any(
        isinstance(cause, OSError) or _unavailable(cause) for cause in _causes(error.orig))


def _unavailable(error: BaseException) -> bool:
    return str(getattr(error, "sqlstate", "") or "").startswith(UNAVAILABLE_SQLSTATES)


def _causes(error: BaseException | None, depth: int = 8) -> list[BaseException]:
    chain: list[BaseException] = []
    while error is not None and len(chain) < depth:
        chain.append(error)
        error = error.__cause__
    return chain
