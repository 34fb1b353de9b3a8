"""The UnitOfWork contract, passed by every adapter: memory, SQLite, Postgres.

Nothing reaches the store unless commit() is called, whatever ends the block: leaving it,
an exception, a cancelled task, a dropped connection or a crashed process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.ports import UnitOfWorkFactory
from tests.contract.builders import add_user, user
from tests.services_db import plain_dsn

ROOT = Path(__file__).resolve().parents[2]


class Boom(Exception):
    pass


async def exists(factory: UnitOfWorkFactory, user_id: str) -> bool:
    async with factory() as uow:
        return await uow.users.get(user_id) is not None


def url_of(factory: SqlUnitOfWorkFactory) -> str:
    return factory.engine.url.render_as_string(hide_password=False)


def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ghost = user()
        async with uow_factory() as uow:
            assert await uow.users.add(ghost)
            assert await uow.users.get(ghost.id) == ghost  # visible inside its own unit
        assert not await exists(uow_factory, ghost.id)

    runner.run(scenario())


def test_commit_persists(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        kept = await add_user(uow_factory)
        assert await exists(uow_factory, kept.id)

    runner.run(scenario())


def test_an_exception_rolls_back_and_propagates(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ghost = user()
        with pytest.raises(Boom):
            async with uow_factory() as uow:
                assert await uow.users.add(ghost)
                raise Boom
        assert not await exists(uow_factory, ghost.id)

    runner.run(scenario())


def test_rollback_discards_what_came_before_it(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        dropped, kept = user(), user()
        async with uow_factory() as uow:
            assert await uow.users.add(dropped)
            await uow.rollback()
            assert await uow.users.add(kept)
            await uow.commit()
        assert not await exists(uow_factory, dropped.id)
        assert await exists(uow_factory, kept.id)

    runner.run(scenario())


def test_a_cancelled_task_leaves_no_partial_write(uow_factory: UnitOfWorkFactory,
                                                  runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        ghost = user()
        started = asyncio.Event()

        async def slow() -> None:
            async with uow_factory() as uow:
                assert await uow.users.add(ghost)
                started.set()
                await asyncio.sleep(30)
                await uow.commit()

        task = asyncio.create_task(slow())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not await exists(uow_factory, ghost.id)
        await asyncio.wait_for(add_user(uow_factory), timeout=5)  # nothing is left locked

    runner.run(scenario())


@pytest.mark.parametrize("sql_uow_factory", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)  # SQLite: see the crash test
def test_a_dropped_connection_leaves_no_partial_write(sql_uow_factory: SqlUnitOfWorkFactory,
                                                      runner: asyncio.Runner) -> None:
    uow_factory, url = sql_uow_factory, url_of(sql_uow_factory)

    async def drop_connections() -> None:
        admin = await asyncpg.connect(plain_dsn(url))
        try:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await admin.close()

    async def scenario() -> None:
        ghost = user()
        with pytest.raises(DBAPIError):
            async with uow_factory() as uow:
                assert await uow.users.add(ghost)
                await drop_connections()
                await uow.users.add(user())
                await uow.commit()
        assert not await exists(uow_factory, ghost.id)
        await add_user(uow_factory)  # the pool let go of the dead connection

    runner.run(scenario())


CRASH = textwrap.dedent("""
    import asyncio, os, sys
    from adapters.sql.engine import create_engine
    from adapters.sql.uow import SqlUnitOfWorkFactory
    from tests.contract.builders import job, user

    async def main() -> None:
        factory = SqlUnitOfWorkFactory(create_engine(sys.argv[1]))
        async with factory() as uow:
            owner = user(id=sys.argv[2])
            assert await uow.users.add(owner)
            assert await uow.jobs.add(job(owner.id))
            os._exit(3)  # the process dies mid-transaction: no rollback, no close

    asyncio.run(main())
""")


def test_a_crashed_process_leaves_no_partial_write(sql_uow_factory: SqlUnitOfWorkFactory,
                                                   runner: asyncio.Runner) -> None:
    uow_factory, url = sql_uow_factory, url_of(sql_uow_factory)
    ghost_id = "crash-victim"
    crashed = subprocess.run([sys.executable, "-c", CRASH, url, ghost_id], cwd=ROOT, timeout=60,
                             capture_output=True, text=True, check=False)
    assert crashed.returncode == 3, crashed.stderr

    async def scenario() -> None:
        assert not await exists(uow_factory, ghost_id)
        async with uow_factory() as uow:
            assert (await uow.jobs.count_by_status()) == {}
        await asyncio.wait_for(add_user(uow_factory), timeout=5)  # no lock outlives the process

    runner.run(scenario())
