"""Bring a database to the newest schema: `await migrate(url)`, or `run_migrations(url)`
from synchronous code (the CLI). No alembic.ini needed: the config is built here."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from adapters.sql.engine import create_engine, to_async_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # configparser interpolation: a literal % (e.g. in a password) is written %%
        config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(url: str, revision: str = "head") -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, alembic_config(url), revision)
    finally:
        await engine.dispose()


def run_migrations(url: str, revision: str = "head") -> None:
    asyncio.run(migrate(url, revision))
