"""Stale pooled connections are handled without a pre-ping on every unit of work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import autocommit
from adapters.sql.claim_pg import claim_in_four
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.accounts import PreferPrivateThenPriority
from domain.credentials import Credential
from domain.ports import Authorized, CreateOutcome, CreateStatus
from entrypoints.faults import is_infrastructure_fault
from tests.contract.builders import T0
from tests.contract.test_create_job_step import draft, funded_user, state
from tests.services_db import execute_admin
from tests.support.round_trips import count_round_trips

pytestmark = pytest.mark.postgres


def connection_closed_once_after_checkout() -> tuple[list[object], Callable[[Any, Any, Any], None]]:
    """A pool `checkout` listener that kills the first connection it sees between its checkout
    and its first statement, and the list that records it."""
    closed: list[object] = []

    def close_once(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not closed:
            closed.append(dbapi_connection)
            dbapi_connection.driver_connection.terminate()

    return closed, close_once


def test_a_unit_of_work_on_a_warm_pool_sends_no_ping(pg_clean_url: str) -> None:
    async def run() -> None:
        engine = create_engine(pg_clean_url)
        factory = SqlUnitOfWorkFactory(engine)
        try:
            for _ in range(2):  # warm: a connection in the pool, its statement prepared
                async with factory() as uow:
                    await uow.users.get("nobody")
            with count_round_trips() as trips:
                async with factory() as uow:
                    assert await uow.users.get("nobody") is None
            assert trips.postgres == 3, trips.report()  # BEGIN, the select, ROLLBACK
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_a_connection_the_server_ended_is_replaced_at_checkout(pg_clean_url: str) -> None:
    async def run() -> None:
        engine = create_engine(pg_clean_url)
        factory = SqlUnitOfWorkFactory(engine)
        try:
            async with factory() as uow:
                await uow.users.get("nobody")
            async with engine.connect() as conn:  # the pooled connection, by its backend pid
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await execute_admin(pg_clean_url, f"SELECT pg_terminate_backend({pid})")
            await asyncio.sleep(0.2)  # the event loop reads the server's goodbye
            async with factory() as uow:  # no error: the dead one was discarded at checkout
                assert await uow.users.get("nobody") is None
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_a_hot_path_statement_refused_before_sending_runs_once_more_on_a_fresh_connection(
        pg_clean_url: str) -> None:
    async def run() -> None:
        engine = create_engine(pg_clean_url)
        factory = SqlUnitOfWorkFactory(engine)
        closed, close_once_after_checkout = connection_closed_once_after_checkout()
        try:
            async with factory() as uow:
                await uow.users.get("nobody")
            event.listen(engine.sync_engine.pool, "checkout", close_once_after_checkout)
            with count_round_trips() as trips:
                found = await factory.read_job(Credential.of_user("nobody"), "job", datetime.now(UTC))
            assert found == Authorized(False)
            assert closed and trips.postgres >= 1
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_a_hot_path_write_refused_before_sending_runs_once_more_on_a_fresh_connection(
        pg_clean_url: str) -> None:
    async def run() -> None:
        engine = create_engine(pg_clean_url)
        factory = SqlUnitOfWorkFactory(engine)
        closed, close_once_after_checkout = connection_closed_once_after_checkout()
        try:
            user_id = await funded_user(factory, 100)
            made = draft(user_id, cost=10)
            event.listen(engine.sync_engine.pool, "checkout", close_once_after_checkout)
            outcome = await factory.create_job(Credential.of_user(user_id), made, T0)
            assert outcome == CreateOutcome(status=CreateStatus.CREATED, job=made.job)
            assert closed
            assert await state(factory, user_id) == (1, 1, 90, 10, [])
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_a_statement_whose_connection_is_lost_after_sending_is_never_run_again(pg_clean_url: str) -> None:
    """The statement reached the server (it runs there to the end), then the connection was
    lost: the caller gets a fault (503), the statement is not sent again, and the whole pool
    is replaced at its next checkouts, as SQLAlchemy does on a disconnect."""
    sequence = f"sent_once_{uuid.uuid4().hex[:12]}"

    async def pids(engine: AsyncEngine) -> set[int]:
        async def one() -> int:
            async with engine.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                await asyncio.sleep(0.05)  # held together: two pooled connections
                return int(pid)

        return set(await asyncio.gather(one(), one()))

    async def run() -> None:
        await execute_admin(pg_clean_url, f"CREATE SEQUENCE {sequence}")
        engine = create_engine(pg_clean_url, pool_size=2, max_overflow=0)
        lost: list[object] = []

        def cut_while_running(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            if not lost:
                lost.append(dbapi_connection)
                asyncio.get_running_loop().call_later(0.2, dbapi_connection.driver_connection.terminate)

        try:
            before = await pids(engine)
            event.listen(engine.sync_engine.pool, "checkout", cut_while_running)
            with pytest.raises(DBAPIError) as raised:
                await autocommit.fetch(engine, f"SELECT pg_sleep(0.5), nextval('{sequence}')", ())
            assert raised.value.connection_invalidated and is_infrastructure_fault(raised.value)
            await asyncio.sleep(0.8)  # the server finished the statement it was sent
            [row] = await autocommit.fetch(engine, f"SELECT last_value, is_called FROM {sequence}", ())
            assert (row["last_value"], row["is_called"]) == (1, True)  # run once, never again
            assert not (await pids(engine)) & before
        finally:
            await engine.dispose()
            await execute_admin(pg_clean_url, f"DROP SEQUENCE IF EXISTS {sequence}")

    asyncio.run(run())


def test_the_claim_refused_before_sending_runs_once_more_and_a_failed_one_leaves_no_open_transaction(
        pg_clean_url: str) -> None:
    """The worker's claim runs its own transaction on the driver (adapters/sql/claim_pg.py):
    a connection closed before BEGIN is replaced once; a connection that fails mid-claim is
    thrown away, never handed back to the pool inside an open transaction."""
    async def run() -> None:
        engine = create_engine(pg_clean_url)
        factory = SqlUnitOfWorkFactory(engine)
        closed, close_once_after_checkout = connection_closed_once_after_checkout()
        now = datetime.now(UTC)
        try:
            await factory.claim(now, "t0", now, 4, PreferPrivateThenPriority())  # warm
            event.listen(engine.sync_engine.pool, "checkout", close_once_after_checkout)
            assert (await factory.claim(now, "t1", now, 4, PreferPrivateThenPriority())).jobs == []
            assert closed
            event.remove(engine.sync_engine.pool, "checkout", close_once_after_checkout)

            with pytest.raises(asyncpg.InvalidRowCountInLimitClauseError):  # fails after BEGIN
                await claim_in_four(engine, now, "t2", now, -1, PreferPrivateThenPriority())
            async with engine.connect() as conn:
                stuck = (await conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%'"))).scalar_one()
                turns = (await conn.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))).scalar_one()
            assert (stuck, turns) == (0, 0)
        finally:
            await engine.dispose()

    asyncio.run(run())
