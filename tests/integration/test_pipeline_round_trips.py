"""Round-trip budgets of the worker pipeline on Postgres (warm pool, no pre-ping): what one
sim job costs from claim to completed, and what one poll of a job still running costs.

These pin where the pipeline stands so it can only get cheaper; issue 10's goals (8 per
job, a poll that writes nothing, one round trip per poll cycle) are lower still: see
docs/DECISIONS.md, "The pipeline's steps (issue 10, pipeline side)"."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from adapters.memory.system import ManualClock
from adapters.providers.sim import SimProvider
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.claim import ClaimJobs
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
POLL_BUDGET = 8  # re-claim 4, read 1, next poll 3 (was 13, then 10)


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


def test_one_job_and_one_poll_stay_within_their_round_trips(pg_clean_url: str) -> None:
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
            assert trips.postgres <= POLL_BUDGET, trips.report()
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
