"""The few statements whose spelling differs between Postgres and SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Table, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.tables import UtcDateTime


def upsert(conn: AsyncConnection, table: Table) -> Any:
    """INSERT that can say ON CONFLICT (both dialects spell it the same way)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_or_ignore(conn: AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: a unique violation inserts nothing and raises
    nothing (no aborted Postgres transaction), while other violations (foreign keys,
    checks) still raise as the bugs they are."""
    return upsert(conn, table).on_conflict_do_nothing()


def utc(value: datetime) -> BindParameter[datetime]:
    """A bound timestamp outside a column comparison (in CASE, COALESCE)."""
    return literal(value, UtcDateTime())
