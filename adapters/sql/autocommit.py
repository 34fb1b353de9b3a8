"""Run one hand-written statement on Postgres in autocommit: one round trip.

A pooled connection the driver already knows is closed never leaves the pool (engine.py);
one that closes between checkout and the statement makes asyncpg refuse before sending
anything ("connection is closed"): then, and only then, the statement runs once more on a
fresh connection. A failure after sending is never retried here (the statement may have run).

`read` hands a read-only statement to the pooled asyncpg connection itself: SQLAlchemy
still lends and takes back the connection (its pool, its checks at checkout), but its
statement execution (execution options, the cursor adapter, result rows) is skipped, about
a fifth of a read's CPU. Outside a transaction asyncpg runs the statement in autocommit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import Row
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine


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


async def read(engine: AsyncEngine, sql: str, args: Sequence[Any]) -> list[asyncpg.Record]:
    """`fetch` for a statement that writes nothing, answered as asyncpg records."""
    for attempt in (1, 2):
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            try:
                return list(await driver.fetch(sql, *args))
            except asyncpg.InterfaceError as error:
                if attempt == 2 or not driver.is_closed() or "connection is closed" not in str(error):
                    raise
                await conn.invalidate()
    raise AssertionError("unreachable")
