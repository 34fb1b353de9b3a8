"""The SQL schema: migrations build exactly the tables' metadata on both dialects, the
schema itself refuses impossible money and counters, and engines are set up as intended."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine, to_async_url
from adapters.sql.migrate import alembic_config, migrate
from adapters.sql.tables import metadata
from tests.services_db import execute_admin

DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
pytestmark = pytest.mark.filterwarnings(  # expression indexes cannot be reflected; checked by name
    "ignore:Skipped unsupported reflection of expression-based index",
    "ignore:autogenerate skipping metadata-specified expression-based index",
)


@pytest.fixture(params=DIALECTS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: nothing migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server: str = request.getfixturevalue("pg_server_url")
    name = f"pixrelay_test_schema_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _inspect(url: str) -> tuple[list[Any], str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            return differences, version
    finally:
        await engine.dispose()


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_build_the_tables_metadata_and_run_again_harmlessly(fresh_url: str) -> None:
    asyncio.run(migrate(fresh_url))
    asyncio.run(migrate(fresh_url))  # already at head: nothing to do, nothing fails
    differences, version = asyncio.run(_inspect(fresh_url))
    assert differences == []
    assert version == HEAD
    # Neither dialect reflects expression indexes, so the comparison above cannot see it.
    assert asyncio.run(_has_index(fresh_url, "uq_users_username_lower"))


async def _has_index(url: str, name: str) -> bool:
    engine = create_engine(url)
    catalogue = ("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = :name"
                 if engine.dialect.name == "sqlite" else
                 "SELECT count(*) FROM pg_indexes WHERE indexname = :name")
    try:
        async with engine.connect() as connection:
            return bool((await connection.execute(text(catalogue), {"name": name})).scalar_one())
    finally:
        await engine.dispose()


def test_the_schema_can_be_taken_down_and_built_again(fresh_url: str) -> None:
    asyncio.run(migrate(fresh_url))

    async def downgrade() -> None:
        engine = create_engine(fresh_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_downgrade, fresh_url)
        finally:
            await engine.dispose()

    asyncio.run(downgrade())
    asyncio.run(migrate(fresh_url))
    assert asyncio.run(_inspect(fresh_url))[1] == HEAD


def _downgrade(connection: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")
    assert inspect(connection).get_table_names() == ["alembic_version"]


VIOLATIONS = {
    "negative available credits": "UPDATE credit_balances SET available = -1",
    "negative held credits": "UPDATE credit_balances SET held = -1",
    "negative account credits": "UPDATE provider_accounts SET credits = -1",
    "more jobs than the account allows": "UPDATE provider_accounts SET current_jobs = max_concurrent_jobs + 1",
    "negative account jobs": "UPDATE provider_accounts SET current_jobs = -1",
    "negative stored bytes": "UPDATE users SET storage_bytes = -1",
    "negative running jobs": "UPDATE users SET running_jobs = -1",
    "a second live asset with the same bytes": "UPDATE assets SET sha256 = 'x', owner_id = 'u1'",
    "a job of no user": "UPDATE jobs SET user_id = 'nobody'",
    "a username differing only in case": "UPDATE users SET username = 'ANN' WHERE id = 'u2'",
}


async def _seeded(url: str) -> AsyncEngine:
    await migrate(url)
    engine = create_engine(url)
    async with engine.begin() as connection:
        for statement in (
            "INSERT INTO users (id, email, username, password_hash, created_at, role, is_active) VALUES "
            "('u1', 'a@x.io', 'ann', 'h', '2025-01-01 00:00:00', 'user', true), "
            "('u2', 'b@x.io', 'bob', 'h', '2025-01-01 00:00:00', 'user', true)",
            "INSERT INTO credit_balances (user_id, available, held) VALUES ('u1', 5, 0)",
            "INSERT INTO provider_accounts (id, provider_id, label, secret, created_at, credits, "
            "max_concurrent_jobs, current_jobs, priority, status, consecutive_failures, success_count, "
            "failure_count) VALUES ('a1', 'sim', 'l', 's', '2025-01-01 00:00:00', 5, 2, 0, 0, 'active', 0, 0, 0)",
            "INSERT INTO assets (id, owner_id, media_type, source, mime_type, size_bytes, sha256, storage_key, "
            "created_at, last_accessed_at, status) VALUES "
            "('s1', 'u1', 'image', 'uploaded', 'image/png', 1, 'x', 'k', '2025-01-01', '2025-01-01', 'stored'), "
            "('s2', 'u2', 'image', 'uploaded', 'image/png', 1, 'y', 'k', '2025-01-01', '2025-01-01', 'stored')",
            "INSERT INTO jobs (id, user_id, provider_id, operation_type, params, created_at, run_after, "
            "input_asset_ids, priority, status, attempts, max_attempts, excluded_account_ids, result_asset_ids, "
            "cost_estimate, version) VALUES ('j1', 'u1', 'sim', 'upscale', '{}', '2025-01-01', '2025-01-01', "
            "'[]', 5, 'pending', 0, 3, '[]', '[]', 0, 0)",
        ):
            await connection.execute(text(statement))
    return engine


@pytest.mark.parametrize("violation", list(VIOLATIONS))
def test_the_schema_refuses_impossible_rows(fresh_url: str, violation: str) -> None:
    async def scenario() -> None:
        engine = await _seeded(fresh_url)
        try:
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(text(VIOLATIONS[violation]))
        finally:
            await engine.dispose()

    asyncio.run(scenario())


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p%40ss@db:5432/app", "postgresql+asyncpg://u:p%40ss@db:5432/app"),
    ("postgresql://u@db/app", "postgresql+asyncpg://u@db/app"),
    ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
    ("postgresql+psycopg://u@db/app", "postgresql+asyncpg://u@db/app"),
    ("sqlite:///relative/pixrelay.db", "sqlite+aiosqlite:///relative/pixrelay.db"),
    ("sqlite:////abs/pixrelay.db", "sqlite+aiosqlite:////abs/pixrelay.db"),
    ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
])
def test_database_urls_become_async_urls(given: str, expected: str) -> None:
    assert to_async_url(given) == expected


def test_other_databases_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        to_async_url("mysql://u@db/app")


def test_sqlite_connections_use_wal_foreign_keys_and_immediate_transactions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'pixrelay.db'}"  # directories are made

    async def scenario() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                pragmas = [(await connection.execute(text(f"PRAGMA {name}"))).scalar()
                           for name in ("journal_mode", "foreign_keys", "busy_timeout")]
                assert pragmas == ["wal", 1, 30_000]
            # Two writers: the second waits for the first (the write lock is taken at BEGIN)
            # instead of failing with "database is locked" when it upgrades a read.
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE counter (n INTEGER)"))
                await connection.execute(text("INSERT INTO counter VALUES (0)"))

            async def bump() -> None:
                async with engine.begin() as connection:
                    n = (await connection.execute(text("SELECT n FROM counter"))).scalar_one()
                    await asyncio.sleep(0.01)
                    await connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

            await asyncio.gather(*(bump() for _ in range(5)))
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT n FROM counter"))).scalar_one() == 5
        finally:
            await engine.dispose()

    asyncio.run(scenario())
    assert (tmp_path / "nested" / "dir" / "pixrelay.db").exists()
