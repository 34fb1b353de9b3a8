"""Hand-off budget of the worker pipeline on SQLite (warm pool): what one sim job costs from
claim to completed in jobs queued to aiosqlite's database thread (tests/support/round_trips.py).
The claim and the pipeline's steps run whole in that thread (adapters/sql/sqlite_dispatch.py,
adapters/sql/pipeline_sqlite.py); this pins where they stand so they can only get cheaper."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.system import ManualClock
from adapters.providers.sim import SimProvider
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.pipeline.claim import ClaimJobs
from application.pipeline.run import RunJob
from domain.jobs import JobStatus
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import build_container
from tests.integration.test_pipeline_round_trips import create
from tests.support.round_trips import count_round_trips
from tests.support.seed import add_account, add_user
from tests.support.wiring import Wiring, memory_ports

# The worker's claim step: BEGIN IMMEDIATE, the claim and COMMIT run whole in the thread
# (adapters/sql/sqlite_dispatch.py) 1, the pool's reset 1 (was 30: 3 or 4 per statement; then
# 6 inside a unit of work).
CLAIM_BUDGET = 2
# read_leased, record_submission, attach and complete_job: 2 each, the step and the pool's
# reset (adapters/sql/pipeline_sqlite.py); no unit of work for a job without inputs (was 130).
RUN_BUDGET = 8


def sqlite_wiring(sqlite_url: str) -> tuple[Wiring, AsyncEngine]:
    """The in-memory wiring with the SQLite unit of work (and its engine, to dispose of)."""
    clock = ManualClock()
    sim = SimProvider(clock=clock.now)
    engine = create_engine(sqlite_url)
    ports = dataclasses.replace(memory_ports(clock, sim), uow=SqlUnitOfWorkFactory(engine))
    return Wiring(build_container(ports), ports, clock, sim), engine


def test_one_job_on_sqlite_stays_within_its_hand_offs(sqlite_url: str) -> None:
    async def main() -> None:
        w, engine = sqlite_wiring(sqlite_url)
        try:
            alice = await add_user(w, quota=QuotaPolicy(max_concurrent_jobs=None))
            await add_account(w, max_concurrent_jobs=10)
            for _ in range(2):  # warm: the pool's connection open
                await create(w, alice, 0)
                for job in await w.get(ClaimJobs)():
                    await w.get(RunJob)(job)
            quick = await create(w, alice, 0)
            with count_round_trips() as claim:
                [claimed] = await w.get(ClaimJobs)()
            with count_round_trips() as run:
                await w.get(RunJob)(claimed)
            async with w.ports.uow() as uow:
                done = await uow.jobs.get(quick.id)
            assert done is not None and done.status is JobStatus.COMPLETED
            assert claim.sqlite <= CLAIM_BUDGET, claim.report()
            assert run.sqlite <= RUN_BUDGET, run.report()
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_reading_a_leased_job_on_sqlite_takes_no_write_lock(sqlite_url: str) -> None:
    async def main() -> None:
        w, engine = sqlite_wiring(sqlite_url)
        try:
            alice = await add_user(w)
            await add_account(w)
            await create(w, alice, 0)
            [claimed] = await w.get(ClaimJobs)()
            writer = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None, timeout=0)
            try:
                writer.execute("BEGIN IMMEDIATE")
                leased = await asyncio.wait_for(w.ports.uow.read_leased(claimed.id, claimed.lease_token or ""), 5)
                writer.execute("ROLLBACK")
            finally:
                writer.close()
            assert leased is not None and leased.job == claimed
            assert leased.account is not None and leased.account.id == claimed.account_id
            assert leased.hold is not None and leased.hold.id == claimed.hold_id
        finally:
            await engine.dispose()

    asyncio.run(main())
