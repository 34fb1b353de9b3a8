"""Fixtures shared by the contract suites: one asyncio.Runner per test, and every
UnitOfWork adapter (memory, SQLite, Postgres) behind one `uow_factory` fixture."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.uow import InMemoryUnitOfWorkFactory
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.ports import UnitOfWorkFactory

POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
SQL_ADAPTERS = ["sqlite", POSTGRES]
ADAPTERS = ["memory", *SQL_ADAPTERS]
SQL_URL_FIXTURES = {"sqlite": "sqlite_url", "postgres": "pg_clean_url"}


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


async def _engine(url: str) -> AsyncEngine:
    return create_engine(url)  # made inside the runner's loop, where its pool will live


@contextmanager
def sql_factory(request: pytest.FixtureRequest, runner: asyncio.Runner,
                kind: str) -> Iterator[SqlUnitOfWorkFactory]:
    engine = runner.run(_engine(request.getfixturevalue(SQL_URL_FIXTURES[kind])))
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        runner.run(engine.dispose())


@pytest.fixture(params=ADAPTERS)
def uow_factory(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[UnitOfWorkFactory]:
    if request.param == "memory":
        yield InMemoryUnitOfWorkFactory()
        return
    with sql_factory(request, runner, request.param) as factory:
        yield factory


@pytest.fixture(params=SQL_ADAPTERS)
def sql_uow_factory(request: pytest.FixtureRequest, runner: asyncio.Runner) -> Iterator[SqlUnitOfWorkFactory]:
    """The database adapters only, for what only a database has (connections, processes)."""
    with sql_factory(request, runner, request.param) as factory:
        yield factory
