"""Round-trip budgets of the worker pipeline on Postgres (warm pool, no pre-ping): what one
sim job costs from claim to completed, and what one poll of a job still running costs.

These pin where the pipeline stands so it can only get cheaper; issue 10's goal of 8 per
job is lower still: see docs/DECISIONS.md, "The pipeline's steps (issue 10, pipeline side)".
A worker's polls are held by its lease (docs/DECISIONS.md, "Polls held by a worker lease"):
a poll that finds its job unchanged costs nothing, and the leases of all the jobs held are
renewed by one round trip per poll cycle, however many there are."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.system import ManualClock
from adapters.providers.sim import SimProvider
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import RunJob
from domain.jobs import Job, JobStatus
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import build_container
from tests.support.round_trips import count_round_trips
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_ports

pytestmark = pytest.mark.postgres

JOB_BUDGET = 8  # claim and reserve 4 (BEGIN and the turn in one, one locking read, one write, COMMIT), read 1, record the submission 1, attach 1, complete 1 (was 46, then 11); the poll starts from the job as attached
CHILD_BUDGET = 20  # a job's 8, and its input staged from the parent's result (12: the parent, the asset, the upload cache read and written, each a transaction of its own); the completion is the one statement (44 when children completed step by step)
POLL_BUDGET = 0  # a held job's poll that finds it unchanged: no read (its copy is in hand), no write (was 10)
RENEWAL_BUDGET = 1  # per poll cycle, for all the jobs a worker holds
HELD = 20  # jobs held when the renewal is measured
UNHELD_POLL_BUDGET = 8  # no holder (DrainOnce): re-claim 4, read 1, next poll 3 (was 13, then 10)


async def create(w: Wiring, actor: ActorStub, latency_ms: int, parent: Job | None = None) -> Job:
    """A prompt of its own: outputs the owner does not have yet (bytes they already have
    take the step-by-step completion, which reuses their asset)."""
    operation = "text_to_image" if parent is None else "image_to_image"
    created = await w.get(CreateJob)(actor, JobRequest(provider_id="sim", operation_type=operation,
                                                       params={"prompt": uuid.uuid4().hex,
                                                               "sim_latency_ms": latency_ms},
                                                       parent_job_id=parent.id if parent else None))
    return created.unwrap().job


async def work(w: Wiring) -> None:
    for job in await w.get(ClaimJobs)():
        await w.get(RunJob)(job)


def pg_wiring(pg_url: str) -> tuple[Wiring, AsyncEngine]:
    clock = ManualClock()
    sim = SimProvider(clock=clock.now)
    engine = create_engine(pg_url, pool_pre_ping=False)
    ports = dataclasses.replace(memory_ports(clock, sim), uow=SqlUnitOfWorkFactory(engine))
    return Wiring(build_container(ports), ports, clock, sim), engine


async def stored(w: Wiring, job_ids: list[str]) -> list[Job]:
    async with w.ports.uow() as uow:
        found = [await uow.jobs.get(job_id) for job_id in job_ids]
    return [job for job in found if job is not None]


async def poll_cycle(w: Wiring, held: HeldPolls) -> int:
    """What the worker does each poll cycle: renew the held leases, then poll the due jobs."""
    await held.renew()
    due = held.due(1_000)
    for job in due:
        await w.get(RunJob)(job)
    return len(due)


def test_one_job_and_one_poll_stay_within_their_round_trips(pg_clean_url: str) -> None:
    async def main() -> None:
        w, engine = pg_wiring(pg_clean_url)
        clock = w.clock
        try:
            alice = await add_user(w, quota=QuotaPolicy(max_concurrent_jobs=None))
            await add_account(w, max_concurrent_jobs=10)
            for _ in range(2):  # warm: every statement prepared on the pooled connection
                await create(w, alice, 0)
                await work(w)
            quick = await create(w, alice, 0)
            with count_round_trips() as trips:
                await work(w)
            async with w.ports.uow() as uow:
                done = await uow.jobs.get(quick.id)
            assert done is not None and done.status is JobStatus.COMPLETED
            assert trips.postgres <= JOB_BUDGET, trips.report()

            slow = await create(w, alice, 60_000)
            await work(w)
            for _ in range(2):  # warm the poll path
                clock.advance(3)
                await work(w)
            clock.advance(3)
            with count_round_trips() as trips:
                await work(w)
            async with w.ports.uow() as uow:
                waiting = await uow.jobs.get(slow.id)
            assert waiting is not None and waiting.status is JobStatus.PROCESSING
            assert waiting.next_poll_at == clock.now() + w.get(ClaimJobs)._policy.poll_interval
            assert trips.postgres <= UNHELD_POLL_BUDGET, trips.report()
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_held_polls_write_nothing_and_renew_every_lease_in_one_round_trip(pg_clean_url: str) -> None:
    async def main() -> None:
        w, engine = pg_wiring(pg_clean_url)
        held = w.get(HeldPolls)
        held.open()
        try:
            alice = await add_user(w, quota=QuotaPolicy(max_concurrent_jobs=None))
            await add_account(w, max_concurrent_jobs=HELD + 1)
            one = await create(w, alice, 60_000)
            await work(w)  # claimed, submitted, attached, polled once: held from then on
            assert len(held) == 1
            for _ in range(2):  # warm the renewal
                w.clock.advance(3)
                assert await poll_cycle(w, held) == 1
            w.clock.advance(3)
            [before] = await stored(w, [one.id])
            with count_round_trips() as trips:
                await held.renew()  # the lease read back, not yet extended (a third not gone)
            assert trips.postgres <= RENEWAL_BUDGET, trips.report()
            with count_round_trips() as trips:
                assert await poll_cycle(w, held) == 1
            assert trips.postgres <= POLL_BUDGET, trips.report()
            [after] = await stored(w, [one.id])
            assert after == before  # nothing written
            assert after.status is JobStatus.PROCESSING and after.lease_token is not None

            more = [await create(w, alice, 60_000) for _ in range(HELD - 1)]
            for _ in range(HELD):
                await work(w)
            assert len(held) == HELD
            w.clock.advance(26)  # every lease a third through: all extended
            before_all = await stored(w, [one.id, *(j.id for j in more)])
            with count_round_trips() as trips:
                polled = await poll_cycle(w, held)
            assert polled == HELD
            assert trips.postgres <= RENEWAL_BUDGET + HELD * POLL_BUDGET, trips.report()
            after_all = await stored(w, [one.id, *(j.id for j in more)])
            assert [j.version for j in after_all] == [j.version for j in before_all]
            assert all(j.lease_expires_at == w.clock.now() + w.get(ClaimJobs)._policy.lease for j in after_all)
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_a_child_job_completes_at_once_too(pg_clean_url: str) -> None:
    """A child's outputs descend from its parent's results: the parent's results are read with
    the lease, so the child's completion is the one statement too, with those edges."""
    async def main() -> None:
        clock = ManualClock()
        sim = SimProvider(clock=clock.now)
        engine = create_engine(pg_clean_url, pool_pre_ping=False)
        ports = dataclasses.replace(memory_ports(clock, sim), uow=SqlUnitOfWorkFactory(engine))
        w = Wiring(build_container(ports), ports, clock, sim)
        try:
            alice = await add_user(w, quota=QuotaPolicy(max_concurrent_jobs=None))
            await add_account(w, max_concurrent_jobs=10)
            for _ in range(2):  # warm: every statement prepared on the pooled connection
                await create(w, alice, 0, parent=await create(w, alice, 0))
                await work(w)
                await work(w)
            parent = await create(w, alice, 0)
            await work(w)
            child = await create(w, alice, 0, parent=parent)
            with count_round_trips() as trips:
                await work(w)
            async with w.ports.uow() as uow:
                done, finished_parent = await uow.jobs.get(child.id), await uow.jobs.get(parent.id)
                assert done is not None and done.status is JobStatus.COMPLETED, done
                assert finished_parent is not None
                [edge] = await uow.lineage.ancestors(done.result_asset_ids[0], 10)
            assert edge.parent_id == finished_parent.result_asset_ids[0]
            assert trips.postgres <= CHILD_BUDGET, trips.report()
        finally:
            await engine.dispose()

    asyncio.run(main())
