"""Run one hand-written statement on Postgres in autocommit: one round trip.

A pooled connection the driver already knows is closed never leaves the pool (engine.py);
one that closes between checkout and the statement makes asyncpg refuse before sending
anything ("connection is closed"): then, and only then, the statement runs once more on a
fresh connection. A failure after sending is never retried here (the statement may have run).

`read` hands a read-only statement to the pooled asyncpg connection itself (`pooled`):
SQLAlchemy's pool still lends and takes back the connection (its checks at checkout), but
its connection and statement layers (execution options, the cursor adapter, result rows,
greenlet hops) are skipped: about half of a read's CPU. Outside a transaction asyncpg runs
the statement in autocommit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from sqlalchemy import Row
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util.concurrency import greenlet_spawn


def refused_before_sending(error: InterfaceError) -> bool:
    return error.connection_invalidated and "connection is closed" in str(error.orig)


async def fetch(engine: AsyncEngine, sql: str, args: Sequence[Any]) -> list[Row[Any]]:
    for attempt in (1, 2):
        try:
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                return list((await autocommit.exec_driver_sql(sql, tuple(args))).all())
        except InterfaceError as error:
            if attempt == 2 or not refused_before_sending(error):
                raise
    raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def pooled(engine: AsyncEngine) -> AsyncIterator[PoolProxiedConnection]:
    """A connection straight from SQLAlchemy's pool, for statements sent on its driver
    (`.driver_connection`): the pool's own checks at checkout stay (closed connections
    discarded, recycling, overflow and timeout), the AsyncConnection layers around it go
    (two greenlet hops instead of three, no Connection object: about 150 µs of CPU a
    statement here). The caller must leave the driver connection idle (outside a
    transaction) or call `discard`."""
    fairy = await greenlet_spawn(engine.sync_engine.raw_connection)
    try:
        yield fairy
    finally:
        await greenlet_spawn(fairy.close)


async def discard(fairy: PoolProxiedConnection) -> None:
    """Close it and tell the pool (the server rolls back whatever it had open)."""
    await greenlet_spawn(fairy.invalidate)


def driver_of(fairy: PoolProxiedConnection) -> asyncpg.Connection:
    driver: asyncpg.Connection = fairy.driver_connection
    return driver


def refused_by_driver(error: BaseException, driver: asyncpg.Connection) -> bool:
    """asyncpg refused before sending anything: the connection was already closed."""
    return isinstance(error, asyncpg.InterfaceError) and driver.is_closed() and "connection is closed" in str(error)


async def read(engine: AsyncEngine, sql: str, args: Sequence[Any]) -> list[asyncpg.Record]:
    """`fetch` for a statement that writes nothing, answered as asyncpg records."""
    for attempt in (1, 2):
        async with pooled(engine) as fairy:
            driver = driver_of(fairy)
            try:
                return list(await driver.fetch(sql, *args))
            except asyncpg.InterfaceError as error:
                if attempt == 2 or not refused_by_driver(error, driver):
                    raise
                await discard(fairy)
    raise AssertionError("unreachable")
