"""What a start needs from its surroundings, checked before anything else runs: a usable data
dir and a database that answers. A failure is one `StartupError` naming the setting to fix
(the CLI prints it as one line and exits 2), never a traceback."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.private_files import private_dir
from entrypoints.settings import SettingsError

DATABASE_SECONDS = 15.0
DATABASE_FAILURES = (OSError, TimeoutError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError)


class StartupError(SettingsError):
    """The setting named in the message points at something that cannot be used."""


def usable_data_dir(path: Path) -> None:
    """The data dir exists, is owner-only and takes a file."""
    try:
        private_dir(path)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise StartupError(f"PIXRELAY_DATA_DIR: cannot use {path} as the data dir: {reason(error)}") from None


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def reason(error: BaseException) -> str:
    """The cause in a few words, on one line."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    cause = error.__cause__ or error.__context__
    if isinstance(error, DBAPIError | SQLAlchemyError) and cause is not None:
        error = cause
    if isinstance(error, socket.gaierror):
        text_ = f"unknown host ({error.strerror})"
    elif isinstance(error, ConnectionRefusedError):
        text_ = "connection refused"
    elif isinstance(error, TimeoutError):
        text_ = f"no answer within {DATABASE_SECONDS:g} s"
    elif isinstance(error, OSError) and error.strerror:
        text_ = error.strerror
    else:
        text_ = str(error) or type(error).__name__
    return " ".join(text_.split())[:300]


@asynccontextmanager
async def database_errors(url: str) -> AsyncIterator[None]:
    """Turn a failure to reach or open the database into a StartupError."""
    try:
        yield
    except DATABASE_FAILURES as error:
        raise StartupError(f"PIXRELAY_DATABASE_URL: cannot use the database {safe_url(url)}: "
                           f"{reason(error)}") from None


async def reachable_database(engine: AsyncEngine, url: str) -> None:
    async with database_errors(url), asyncio.timeout(DATABASE_SECONDS), engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
