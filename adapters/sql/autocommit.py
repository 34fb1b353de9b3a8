"""Run one hand-written statement on Postgres in autocommit: one round trip.

The statement is handed to the pooled asyncpg connection itself: SQLAlchemy still lends and
takes back the connection (its pool, its checks at checkout), but its statement execution
(execution options, the cursor adapter, result rows) is skipped, about a fifth of a
statement's CPU. Outside a transaction asyncpg runs the statement in autocommit, so a
statement of data-modifying CTEs commits, or is undone, whole.

A pooled connection the driver already knows is closed never leaves the pool (engine.py);
one that closes between checkout and the statement makes asyncpg refuse before sending
anything ("connection is closed"): then, and only then, the statement runs once more on a
fresh connection. A failure after sending is never retried here (the statement may have run).

What the caller sees:
- an error the server answered on a live connection is asyncpg's own (`PostgresError`, with
  its `sqlstate`): a statement that undid itself (`pixrelay_abort`, SQLSTATE PX001) is read
  from it;
- a connection lost before or during the statement is what SQLAlchemy's own execution
  raised: a `DBAPIError` marked `connection_invalidated`, after the pool was invalidated as
  SQLAlchemy does on a disconnect (the next checkouts get fresh connections).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection


def refused_before_sending(driver: asyncpg.Connection, error: Exception) -> bool:
    return (isinstance(error, asyncpg.InterfaceError) and driver.is_closed()
            and "connection is closed" in str(error))


async def fetch(engine: AsyncEngine, sql: str, args: Sequence[Any]) -> list[asyncpg.Record]:
    """The statement's rows, as asyncpg records (reads and writes alike)."""
    for attempt in (1, 2):
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            try:
                return list(await driver.fetch(sql, *args))
            except Exception as error:
                if not driver.is_closed():
                    raise  # the server's answer (or a bug of ours) on a connection still fine
                await _invalidate(engine, conn, raw, error)
                if attempt == 1 and refused_before_sending(driver, error):
                    continue
                raise _lost(sql, args, error) from error
    raise AssertionError("unreachable")


async def _invalidate(engine: AsyncEngine, conn: AsyncConnection, raw: PoolProxiedConnection,
                      error: Exception) -> None:
    """What SQLAlchemy's execution does on a disconnect: every pooled connection older than
    now is replaced at its next checkout (a restart or a failover ends them all), and this
    one is dropped."""
    engine.sync_engine.pool._invalidate(raw, error)
    await conn.invalidate(error)


def _lost(sql: str, args: Sequence[Any], error: Exception) -> DBAPIError:
    """The error SQLAlchemy's execution raised for a lost connection."""
    kind = InterfaceError if isinstance(error, asyncpg.InterfaceError) else DBAPIError
    return kind(sql, tuple(args), error, connection_invalidated=True)
