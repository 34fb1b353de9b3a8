"""Async engines for Postgres (asyncpg) and the embedded SQLite default (aiosqlite).

SQLite runs as a single writer: every transaction starts with BEGIN IMMEDIATE, so it takes
the write lock up front and writers queue (busy_timeout) instead of failing halfway. That
makes the conditional statements the repositories use race-free without SKIP LOCKED.

Postgres connections are not pre-pinged (a ping is three round trips, BEGIN; ;; ROLLBACK,
on every unit of work). Stale connections are handled instead by:
- the driver's own state, checked at checkout at no cost: a connection whose socket the
  event loop has already seen closed (a restart, a failover, a cut) is discarded there and
  the pool hands out another (`_discard_closed`);
- recycling connections older than POOL_RECYCLE_SECONDS, before idle-timeouts of
  firewalls and proxies silently kill them;
- a disconnect met by a statement invalidates the pool (SQLAlchemy's own handling), so the
  request that met it fails (503) and the next one gets fresh connections; the hot-path
  statements retry once on a fresh connection when the driver refused before sending.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POSTGRES_DRIVER = "postgresql+asyncpg"
SQLITE_DRIVER = "sqlite+aiosqlite"
SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_RECYCLE_SECONDS = 1800


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
    engine = create_async_engine(async_url, **{"pool_recycle": POOL_RECYCLE_SECONDS, **options})
    event.listen(engine.sync_engine.pool, "checkout", _discard_closed)
    return engine


def _discard_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A connection the driver already knows is closed never leaves the pool: raising
    DisconnectionError here makes the pool drop it and check out another (no round trip)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the pooled connection was closed by the server or the network")


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
