"""Every transaction that settles a job takes its row locks in one order: the job, the user's
credit balance, then accounts and the user's row. `make soak` found two workers deadlocking on
Postgres (a completion held the balance and waited for the user's run slot while a final
failure of the same user's other job held the run slot and waited for the balance).

The order is read from the statements each transaction sends, on SQLite (the same SQL
sequence as Postgres), through the real use cases: completion, final failure, cancellation."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.util import await_only

from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.jobs.cancel import CancelJob
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.run import DrainOnce
from entrypoints.bootstrap import build_container
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring, memory_wiring

ORDER = ["jobs", "credit_balances", "provider_accounts", "users"]  # a table may be skipped, never taken out of order
UPDATED = re.compile(r"^\s*UPDATE\s+(\w+)", re.IGNORECASE)


def out_of_order(tables: list[str]) -> list[str] | None:
    ranks = [ORDER.index(t) for t in tables if t in ORDER]
    first_seen: list[int] = []
    for rank in ranks:
        if rank not in first_seen:
            first_seen.append(rank)
    return None if first_seen == sorted(first_seen) else [ORDER[r] for r in first_seen]


def test_settling_a_job_locks_the_balance_before_accounts_and_the_user(sqlite_url: str) -> None:
    transactions: list[list[str]] = []
    current: dict[int, list[str]] = {}

    async def scenario() -> None:
        engine = create_engine(sqlite_url)

        def traced(connection_id: int) -> Any:
            """Every statement the connection runs, SQLAlchemy's and those the hot-path steps
            run in the database thread (adapters/sql/pipeline_sqlite.py) alike."""
            def trace(statement: str) -> None:
                match = UPDATED.match(statement)
                if match:
                    current.setdefault(connection_id, []).append(match.group(1))
                elif statement.strip().upper() == "COMMIT":
                    tables = current.pop(connection_id, [])
                    if tables:
                        transactions.append(tables)
                elif statement.strip().upper() == "ROLLBACK":
                    current.pop(connection_id, None)
            return trace

        def trace_on_connect(dbapi_connection: Any, _record: Any) -> None:
            database = dbapi_connection.driver_connection  # an aiosqlite.Connection
            await_only(database._execute(database._conn.set_trace_callback, traced(id(dbapi_connection))))

        event.listen(engine.sync_engine, "connect", trace_on_connect)
        try:
            base = memory_wiring(3)
            ports = dataclasses.replace(base.ports, uow=SqlUnitOfWorkFactory(engine))
            w = Wiring(build_container(ports), ports, base.clock, base.sim)
            user = await add_user(w, "lock", credits=100)
            await add_account(w, "a1", max_concurrent_jobs=4)
            for outcome in ("success", "final_error", "success"):
                request = JobRequest(provider_id="sim", operation_type="text_to_image",
                                     params={"prompt": outcome, "width": 64, "height": 64, "sim_outcome": outcome})
                (await w.get(CreateJob)(user, request)).unwrap()
            for _ in range(6):
                await w.get(DrainOnce)()
                w.clock.advance(5)
            running = JobRequest(provider_id="sim", operation_type="text_to_image",
                                 params={"prompt": "cancel me", "width": 64, "height": 64, "sim_latency_ms": 60_000})
            job = (await w.get(CreateJob)(user, running)).unwrap().job
            await w.get(DrainOnce)()
            (await w.get(CancelJob)(user, job.id)).unwrap()
        finally:
            await engine.dispose()

    asyncio.run(scenario())
    settling = [t for t in transactions if "credit_balances" in t and "jobs" in t]
    assert len(settling) >= 4  # two completions, a final failure, a cancellation
    wrong = [(tables, order) for tables in settling if (order := out_of_order(tables))]
    assert not wrong, wrong
