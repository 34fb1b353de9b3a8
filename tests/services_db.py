"""SQL databases for tests.

Postgres: the server is shared with other test runs, so each run makes its own database
(`pixrelay_test_<random>`), migrates it once, and drops it at the end; tests get a clean
slate by one TRUNCATE of every table. SQLite: a migrated template file, copied per test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adapters.sql.migrate import migrate
from adapters.sql.tables import metadata
from tests.service_check import unavailable

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TRUNCATE_ALL = "TRUNCATE {} RESTART IDENTITY CASCADE".format(
    ", ".join(f'"{table.name}"' for table in metadata.sorted_tables))


def plain_dsn(url: str) -> str:
    """What asyncpg itself accepts: no `+driver` in the scheme."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def execute_admin(dsn: str, *statements: str) -> None:
    connection = await asyncpg.connect(plain_dsn(dsn), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get("PIXRELAY_TEST_DATABASE_URL", DEFAULT_URL)
    try:
        asyncio.run(execute_admin(url, "SELECT 1"))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        unavailable(f"Postgres at {make_url(url).render_as_string()}", error)
    return url


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A migrated database of this run's own, dropped at the end of the session."""
    name = f"pixrelay_test_{uuid.uuid4().hex[:16]}"
    asyncio.run(execute_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def truncate_all(url: str) -> None:
    asyncio.run(execute_admin(url, TRUNCATE_ALL))


@pytest.fixture
def pg_clean_url(pg_url: str) -> str:
    """The session database, emptied: every table in one TRUNCATE."""
    truncate_all(pg_url)
    return pg_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "pixrelay.db"
    asyncio.run(migrate(f"sqlite:///{path}"))  # the engine is disposed: no WAL left beside it
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite file of this test's own."""
    path = tmp_path / "pixrelay.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"
