"""Async engines for Postgres (asyncpg) and the embedded SQLite default (aiosqlite).

SQLite runs as a single writer: every transaction starts with BEGIN IMMEDIATE, so it takes
the write lock up front and writers queue (busy_timeout) instead of failing halfway. That
makes the conditional statements the repositories use race-free without SKIP LOCKED.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POSTGRES_DRIVER = "postgresql+asyncpg"
SQLITE_DRIVER = "sqlite+aiosqlite"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def to_async_url(url: str | URL) -> str:
    """`postgres://`, `postgresql://`, `sqlite:///` and their async forms, as async URLs."""
    parsed = make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    elif backend == "sqlite":
        parsed = parsed.set(drivername=SQLITE_DRIVER)
    else:
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: "
                         "use postgresql:// or sqlite:///path")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).drivername.startswith("sqlite")


def create_engine(url: str | URL, **options: Any) -> AsyncEngine:
    async_url = make_url(to_async_url(url))
    if async_url.drivername == SQLITE_DRIVER:
        return _sqlite_engine(async_url, **options)
    # Pre-ping: after a database restart or failover, pooled connections are dead; find
    # out at checkout rather than in the middle of a use case.
    return create_async_engine(async_url, **{"pool_pre_ping": True, **options})


def _sqlite_engine(url: URL, **options: Any) -> AsyncEngine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 driver (it would emit a deferred BEGIN, and only
    # before DML); _sqlite_on_begin emits our own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
