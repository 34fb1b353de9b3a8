"""SQLite steps run in the database thread still speak SQLAlchemy's errors, so a database
fault there is a 503 like anywhere else (entrypoints/faults.py), not a 500."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from adapters.sql.engine import create_engine
from adapters.sql.sqlite_steps import SqliteSteps
from entrypoints.faults import is_infrastructure_fault


def test_a_database_error_in_the_thread_is_an_infrastructure_fault(sqlite_url: str) -> None:
    async def run() -> None:
        engine = create_engine(sqlite_url)
        try:
            def locked(conn: sqlite3.Connection) -> None:
                raise sqlite3.OperationalError("database is locked")

            with pytest.raises(OperationalError) as raised:
                await SqliteSteps(engine)._in_thread(locked)
            assert is_infrastructure_fault(raised.value)
        finally:
            await engine.dispose()

    asyncio.run(run())
